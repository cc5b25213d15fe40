from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from adapters.root import install as install_composition_root
from tests import web
from tests.proxy import ProxyProcess
from tests.stubs import ServerThread, StubProvider, build_stub_app, free_port

install_composition_root()   # what the `candor` entry point does before any command runs

# the guard modules' plugin (their shared proxy), which they also import from: rewritten like a test module
pytest.register_assert_rewrite("tests.guard_support")

# No test may reach the internet: LiteLLM reads its bundled price list instead of fetching it.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"

APP_KEY = "sk-candor-e2e-app"
UPSTREAM_KEY = "sk-stub-upstream"


@pytest.fixture(scope="session")
def stub() -> Iterator[StubProvider]:
    provider = StubProvider()
    with ServerThread(build_stub_app(provider)) as server:
        provider.url = server.url  # type: ignore[attr-defined]
        yield provider


@pytest.fixture(autouse=True)
def _reset_stub(request: pytest.FixtureRequest) -> None:
    if "stub" in request.fixturenames:
        request.getfixturevalue("stub").reset()


def e2e_config(stub_url: str, tmp: Path, **extra: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "server": {"max_body_bytes": 65536},
        "models": [
            {"name": "companion", "target": "openai/stub-model", "api_base": f"{stub_url}/v1",
             "api_key_env": "STUB_KEY", "timeout": "3s"},
            {"name": "slow", "target": "openai/stub-model", "api_base": f"{stub_url}/v1",
             "api_key_env": "STUB_KEY", "timeout": "300ms"},
            {"name": "dead", "target": "openai/stub-model", "api_base": f"http://127.0.0.1:{free_port()}/v1",
             "api_key_env": "STUB_KEY", "connect_timeout": "1s"},
            {"name": "claude", "target": "anthropic/claude-3-5-sonnet-20240620", "api_base": stub_url,
             "api_key_env": "STUB_KEY", "timeout": "5s"},
            {"name": "candor-demo", "target": "candor/demo"},
        ],
        "apps": [{"id": "e2e-app", "key_env": "E2E_APP_KEY"}],
        "policies_dir": str(tmp / "policies"),
        "audit": {"url": f"sqlite:///{tmp}/audit.db"},
    }
    cfg.update(extra)
    return cfg


def lean_config(stub_url: str, tmp: Path, **extra: Any) -> dict[str, Any]:
    """``e2e_config`` without the LiteLLM-routed model: a proxy on it never imports LiteLLM (25 s of CPU on
    a busy 2-core machine), for every test that does not talk to a LiteLLM-translated provider."""
    cfg = e2e_config(stub_url, tmp, **extra)
    cfg["models"] = [m for m in cfg["models"] if not m["target"].startswith("anthropic/")]
    return cfg


@pytest.fixture(scope="session")
def proxy(stub: StubProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    tmp = tmp_path_factory.mktemp("proxy")
    (tmp / "policies").mkdir()
    env = {"STUB_KEY": UPSTREAM_KEY, "E2E_APP_KEY": APP_KEY}
    with ProxyProcess(tmp, e2e_config(stub.url, tmp), env) as p:  # type: ignore[attr-defined]
        yield p


@pytest.fixture(scope="session")
def lean_proxy(stub: StubProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    """The e2e deployment without the LiteLLM-routed model: starts in a second or two, since LiteLLM's
    import (tens of seconds on a busy machine) is never paid. For tests of the OpenAI-compatible surface."""
    tmp = tmp_path_factory.mktemp("lean-proxy")
    (tmp / "policies").mkdir()
    cfg = lean_config(stub.url, tmp)  # type: ignore[attr-defined]
    with ProxyProcess(tmp, cfg, {"STUB_KEY": UPSTREAM_KEY, "E2E_APP_KEY": APP_KEY}) as p:
        yield p


@pytest.fixture
def lean_client(lean_proxy: ProxyProcess) -> openai.OpenAI:
    return web.OpenAI(base_url=lean_proxy.url + "/v1", api_key=APP_KEY, max_retries=0, timeout=20)


@pytest.fixture
def client(proxy: ProxyProcess) -> openai.OpenAI:
    # the default policy refuses requests without an end user (user_required): each test is its own user
    return web.OpenAI(base_url=proxy.url + "/v1", api_key=APP_KEY, max_retries=0, timeout=20,
                      default_headers={"X-Candor-User": f"e2e-{uuid.uuid4().hex[:12]}"})
