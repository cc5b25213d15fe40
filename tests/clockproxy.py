"""A running proxy with a virtual clock: ``candor``'s real app served by uvicorn on a loopback port
in a background thread, so tests can move time forward instead of sleeping for hours."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import openai
import pytest
import yaml

from adapters.root import build_app
from middleware.config.deployment import load_config
from tests import web
from tests.stubs import ServerThread


def _next_noon_in_beijing() -> float:
    """A fixed time of day, so what a test sees never depends on when it runs (the CN packs' late-night
    dependence signal, day boundaries); in the future, so consents recorded "now" are already valid."""
    day = 86400.0
    noon_utc = 4 * 3600.0   # 12:00 in Asia/Shanghai
    now = time.time()
    start = now - now % day + noon_utc
    return start if start > now else start + day


class VirtualClock:
    def __init__(self, start: float | None = None) -> None:
        self.now = _next_noon_in_beijing() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@contextmanager
def running_proxy(tmp: Path, config: dict[str, Any], policies: dict[str, str] | None = None,
                  clock: VirtualClock | None = None, env: dict[str, str] | None = None
                  ) -> Iterator[tuple[ServerThread, VirtualClock]]:
    pdir = tmp / "policies"
    pdir.mkdir(exist_ok=True)
    for name, text in (policies or {}).items():
        (pdir / f"{name}.yaml").write_text(text)
    config = {"policies_dir": str(pdir), "audit": {"url": f"sqlite:///{tmp}/audit.db"}, **config}
    path = tmp / "candor.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    with pytest.MonkeyPatch.context() as patch:   # the variables are this proxy's only, restored after
        for k, v in (env or {}).items():
            patch.setenv(k, v)
        clk = clock or VirtualClock()
        app = build_app(load_config(path, environ={}), clock=clk)
        with ServerThread(app, lifespan="on") as server:
            yield server, clk


def sdk(server: ServerThread, key: str) -> openai.OpenAI:
    return web.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0, timeout=20)
