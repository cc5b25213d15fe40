"""Every provider that needs translation (Anthropic, Gemini, Bedrock, ...), through ``litellm.acompletion``.

LiteLLM is imported on first use only: importing it costs ~170 MB and a few seconds, which a deployment
that only uses OpenAI-compatible models should never pay. Before the import, its network habits are
switched off: the model price list is read from the package, not fetched, and no telemetry is sent.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

from middleware.pipeline.upstream import (
    UpstreamFailure,
    UpstreamRequest,
    UpstreamTimeout,
    failure_for_status,
)

_litellm: ModuleType | None = None

# OpenAI request keys LiteLLM understands and translates; anything else is dropped by drop_params.
_PASSED = (
    "temperature", "top_p", "n", "stop", "max_tokens", "max_completion_tokens", "presence_penalty",
    "frequency_penalty", "logit_bias", "user", "tools", "tool_choice", "parallel_tool_calls",
    "response_format", "seed", "stream_options", "logprobs", "top_logprobs",
)


def load_litellm() -> ModuleType:
    """Import LiteLLM once, offline and without telemetry."""
    global _litellm
    if _litellm is None:
        os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
        os.environ.setdefault("LITELLM_TELEMETRY", "False")
        os.environ.setdefault("LITELLM_LOG", "ERROR")
        import litellm

        litellm.telemetry = False
        litellm.suppress_debug_info = True
        litellm.drop_params = True
        litellm.success_callback = []
        litellm.failure_callback = []
        litellm.callbacks = []
        _litellm = litellm
    return _litellm


def _map_error(route_name: str, route: Any, exc: Exception) -> UpstreamFailure:
    lt = load_litellm()
    if isinstance(exc, lt.exceptions.Timeout):
        return UpstreamTimeout(f"the provider for model {route_name!r} did not answer within "
                               f"{route.timeout:g}s; raise `timeout` for this model in candor.yaml")
    if isinstance(exc, lt.exceptions.APIConnectionError):
        return UpstreamFailure(f"could not reach the provider for model {route_name!r}: {exc}")
    status = getattr(exc, "status_code", None)
    message = getattr(exc, "message", None) or str(exc)
    if isinstance(status, int) and status >= 400:
        return failure_for_status(route, status, message)
    return UpstreamFailure(f"the provider for model {route_name!r} failed: {type(exc).__name__}: {message}")


def _as_dict(obj: Any) -> dict[str, Any]:
    if isinstance(obj, dict):
        return obj
    dumped = obj.model_dump(exclude_none=False)
    assert isinstance(dumped, dict)
    return dumped


class LiteLLMUpstream:
    async def aclose(self) -> None:
        return None

    async def embeddings(self, request: UpstreamRequest) -> dict[str, Any]:
        lt = load_litellm()
        route = request.route
        body = request.body
        kwargs: dict[str, Any] = {k: body[k] for k in ("dimensions", "encoding_format", "user") if k in body}
        kwargs.update(route.options)
        if route.api_base:
            kwargs["api_base"] = route.api_base
        if route.api_key:
            kwargs["api_key"] = route.api_key
        try:
            resp = await lt.aembedding(model=route.target, input=body["input"], timeout=route.timeout, **kwargs)
        except Exception as exc:
            raise _map_error(route.name, route, exc) from exc
        return _as_dict(resp)

    async def chat(self, request: UpstreamRequest) -> AsyncIterator[dict[str, Any]]:
        lt = load_litellm()
        route = request.route
        body = request.body
        kwargs: dict[str, Any] = {k: body[k] for k in _PASSED if k in body}
        kwargs.update(route.options)
        if route.api_base:
            kwargs["api_base"] = route.api_base
        if route.api_key:
            kwargs["api_key"] = route.api_key
        try:
            resp = await lt.acompletion(
                model=route.target, messages=body["messages"], stream=request.stream,
                timeout=route.timeout, num_retries=0, **kwargs,
            )
            if not request.stream:
                yield _as_dict(resp)
                return
            async for chunk in resp:
                yield _as_dict(chunk)
        except UpstreamFailure:
            raise
        except Exception as exc:  # LiteLLM raises its own hierarchy (and sometimes plain ones) for everything
            raise _map_error(route.name, route, exc) from exc
