"""The LiteLLM adapter (adapters/upstream/via_litellm.py): what it passes on, how it maps LiteLLM's errors,
and that loading LiteLLM switches off its network habits first."""

from __future__ import annotations

import os
from typing import Any

import pytest

from adapters.upstream.via_litellm import LiteLLMUpstream, _map_error, load_litellm
from middleware.pipeline.upstream import ModelRoute, UpstreamFailure, UpstreamRequest, UpstreamTimeout

ROUTE = ModelRoute(name="claude", adapter="litellm", target="anthropic/claude-x", upstream_model="anthropic/claude-x",
                   api_base="http://127.0.0.1:9", api_key="k", timeout=1.0, connect_timeout=1.0,
                   options={"api_version": "v1"})


def test_loading_litellm_keeps_it_local_and_quiet() -> None:
    lt = load_litellm()
    assert os.environ.get("LITELLM_LOCAL_MODEL_COST_MAP") == "True"
    assert lt.telemetry is False and lt.callbacks == [] and lt.success_callback == []


def test_litellm_errors_become_candor_errors() -> None:
    lt = load_litellm()
    timeout = lt.exceptions.Timeout(message="slow", model="m", llm_provider="anthropic")
    assert isinstance(_map_error("claude", ROUTE, timeout), UpstreamTimeout)
    refused = _map_error("claude", ROUTE, RuntimeError("odd"))
    assert isinstance(refused, UpstreamFailure) and "RuntimeError" in refused.message


async def test_only_known_fields_and_the_route_options_are_passed(monkeypatch: pytest.MonkeyPatch) -> None:
    lt = load_litellm()
    seen: dict[str, Any] = {}

    async def fake_acompletion(**kwargs: Any) -> dict[str, Any]:
        seen.update(kwargs)
        return {"id": "c", "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}}]}

    monkeypatch.setattr(lt, "acompletion", fake_acompletion)
    body = {"model": "x", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.2,
            "x_candor_private": 1}
    items = [i async for i in LiteLLMUpstream().chat(UpstreamRequest(route=ROUTE, body=body, stream=False))]
    assert items[0]["choices"][0]["message"]["content"] == "hi"
    assert seen["temperature"] == 0.2 and "x_candor_private" not in seen
    assert seen["api_version"] == "v1" and seen["num_retries"] == 0 and seen["model"] == ROUTE.target
