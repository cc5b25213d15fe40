"""The interface for providers of images and speech, and the request the endpoints hand them.

Implementations live in ``adapters/``: the OpenAI-compatible pass-through (one pooled HTTP client),
LiteLLM (``aimage_generation``, ``aimage_edit``, ``aspeech``) and the offline demo model. Each raises
``UpstreamFailure`` (502/504/429/400) like the chat adapters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from middleware.pipeline.upstream import ModelRoute

Operation = Literal["generations", "edits"]


@dataclass(frozen=True, slots=True)
class Upload:
    """One file of an images/edits request (``image``, ``image[]`` or ``mask``)."""

    field: str
    filename: str
    content: bytes
    content_type: str


@dataclass(slots=True)
class ImageRequest:
    route: ModelRoute
    operation: Operation
    body: dict[str, Any]                     # the JSON body or the form's text fields, "model" rewritten
    files: list[Upload] = field(default_factory=list)


@dataclass(slots=True)
class SpeechRequest:
    route: ModelRoute
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Audio:
    content: bytes
    content_type: str


class MediaUpstream(Protocol):
    async def images(self, request: ImageRequest) -> dict[str, Any]:
        """The provider's images response (``data``: items with ``b64_json`` or ``url``)."""
        ...

    async def speech(self, request: SpeechRequest) -> Audio: ...

    async def aclose(self) -> None: ...


class Fetcher(Protocol):
    async def fetch(self, url: str, limit: int, timeout: float) -> bytes:  # noqa: ASYNC109
        """An image the provider returned as a URL: at most ``limit`` bytes within ``timeout`` seconds;
        raises ``MediaError`` (too large, not http(s), failed) or ``UpstreamTimeout``."""
        ...

    async def aclose(self) -> None: ...
