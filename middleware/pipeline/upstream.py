"""The one small interface every model provider adapter implements.

An adapter turns a chat request into an async iterator of OpenAI-shaped objects: for a streaming call,
``chat.completion.chunk`` dicts as they arrive (or lists of the chunks that arrived together); for a
non-streaming call, one ``chat.completion`` dict.
The pipeline does the rest the same way for every provider.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from middleware.http.errors import CandorError


@dataclass(frozen=True, slots=True)
class ModelRoute:
    """Where an app-visible model name goes."""

    name: str                 # what apps send as "model"
    adapter: str              # "passthrough" | "litellm" | "demo" | anything a test registers
    target: str               # LiteLLM model string as configured, e.g. "openai/gpt-4o-mini"
    upstream_model: str       # the model name the provider expects
    api_base: str | None
    api_key: str | None
    timeout: float
    connect_timeout: float
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class UpstreamRequest:
    route: ModelRoute
    body: dict[str, Any]      # the OpenAI request body, already shaped by the pipeline, "model" rewritten
    stream: bool


class Upstream(Protocol):
    """A model provider. ``chat`` must raise :class:`UpstreamFailure` (or a subclass) on failure."""

    def chat(self, request: UpstreamRequest) -> AsyncIterator[dict[str, Any] | list[dict[str, Any]]]: ...

    async def aclose(self) -> None: ...


class EmbeddingsUpstream(Protocol):
    """A provider adapter that can also embed (``POST /v1/embeddings``): returns OpenAI's embeddings body."""

    async def embeddings(self, request: UpstreamRequest) -> dict[str, Any]: ...


class ClassifyingUpstream(Protocol):
    """A provider adapter that can post one JSON request to another path of the provider's API and read a
    bounded JSON answer: a guard model's call (``/moderations``, ``/chat/completions``; contract 6.1).
    Raises :class:`UpstreamFailure` for an HTTP error, a body over ``max_bytes``, a body that is not JSON."""

    async def classify(self, request: UpstreamRequest, path: str, max_bytes: int) -> Any: ...


class UpstreamFailure(CandorError):
    """The provider failed: 502 ``upstream_error``."""

    def __init__(self, message: str, *, status: int = 502, code: str = "upstream_error",
                 provider_status: int | None = None) -> None:
        super().__init__(status, code, message)
        self.provider_status = provider_status


class UpstreamTimeout(UpstreamFailure):
    """The provider was too slow: 504 ``upstream_timeout``."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=504, code="upstream_timeout")


def failure_for_status(route: ModelRoute, status: int, detail: str) -> UpstreamFailure:
    """Map a provider's HTTP error to what the app should see, with a message that says what to fix."""
    where = f"model {route.name!r} ({route.target})"
    if status in (401, 403):
        return UpstreamFailure(
            f"the provider rejected Candor's credentials for {where} (HTTP {status}): check the key in "
            f"the environment variable named by api_key_env. Provider said: {detail}",
            provider_status=status)
    if status == 404:
        return UpstreamFailure(
            f"the provider does not know {where} (HTTP 404): check target and api_base in candor.yaml. "
            f"Provider said: {detail}", provider_status=status)
    if status == 429:
        return UpstreamFailure(
            f"the provider is rate-limiting {where} (HTTP 429); retry later. Provider said: {detail}",
            status=429, code="upstream_rate_limited", provider_status=status)
    if 400 <= status < 500:
        return UpstreamFailure(
            f"the provider refused the request for {where} (HTTP {status}): {detail}",
            status=400, code="invalid_request", provider_status=status)
    return UpstreamFailure(f"the provider failed for {where} (HTTP {status}): {detail}", provider_status=status)
