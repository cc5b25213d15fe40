"""Building blocks for rule unit tests: a shipped policy and an exchange for one user message."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from middleware.pipeline.context import RequestContext
from middleware.pipeline.exchange import Exchange
from middleware.pipeline.stages import _NO_ROUTE
from middleware.policy.loader import load_policy_dirs
from middleware.policy.model import Policy
from middleware.policy.registry import builtin_packs_dir


@cache
def pack(pid: str = "cn-anthropomorphic-2026") -> Policy:
    return load_policy_dirs([builtin_packs_dir()])[pid]


def exchange(text: str = "你好", *, history: list[dict[str, Any]] | None = None, policy: Policy | None = None,
             age_band: str | None = None, session: str = "s-1", locale: str = "zh-CN") -> Exchange:
    ctx = RequestContext(app_id="app", user_id="u-1", session_hint=session, persona_id=None, age_band=age_band,
                         client_renders=frozenset(), session_id=session)
    body = {"model": "m", "messages": [*(history or []), {"role": "user", "content": text}]}
    ex = Exchange(ctx=ctx, policy=policy or pack(), event_id="evt-1", route=_NO_ROUTE, body=body, stream=False,
                  now=1_800_000_000.0)
    ex.state.user_text, ex.state.locale = text, locale
    if age_band is not None:
        ex.state.age_band = age_band
    return ex


@cache
def _pattern_layer() -> Any:
    from middleware.detectors.layer import DetectionLayer

    return DetectionLayer(use_models=False)


@pytest.fixture
def patterns_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rules' logic under test, not the models' figures: judge with the pattern tier alone (the
    models are measured by the detector tests and docs/detectors.md)."""
    import middleware.rules.detection as detection

    monkeypatch.setattr(detection, "default_layer", _pattern_layer)
