"""Images and speech from providers that need translation, through LiteLLM (``aimage_generation``,
``aimage_edit``, ``aspeech``), imported offline and without telemetry like the chat adapter."""

from __future__ import annotations

import io
from typing import Any

from adapters.upstream.via_litellm import _as_dict, _map_error, load_litellm
from middleware.media.upstream import Audio, ImageRequest, SpeechRequest
from middleware.pipeline.upstream import UpstreamFailure

_IMAGE_KEYS = ("n", "size", "quality", "style", "response_format", "user", "background", "output_format")
_SPEECH_KEYS = ("speed", "instructions")
_TYPES = {"mp3": "audio/mpeg", "wav": "audio/wav", "flac": "audio/flac", "opus": "audio/ogg"}


class LiteLLMMediaUpstream:
    async def aclose(self) -> None:
        return None

    def _common(self, request: ImageRequest | SpeechRequest) -> dict[str, Any]:
        route = request.route
        kwargs: dict[str, Any] = dict(route.options)
        if route.api_base:
            kwargs["api_base"] = route.api_base
        if route.api_key:
            kwargs["api_key"] = route.api_key
        return kwargs

    async def images(self, request: ImageRequest) -> dict[str, Any]:
        lt = load_litellm()
        route, body = request.route, request.body
        kwargs = self._common(request)
        kwargs.update({k: body[k] for k in _IMAGE_KEYS if body.get(k) is not None})
        try:
            if request.operation == "generations":
                resp = await lt.aimage_generation(model=route.target, prompt=body["prompt"], timeout=route.timeout,
                                                  **kwargs)
            else:
                images = [io.BytesIO(f.content) for f in request.files if f.field in ("image", "image[]")]
                masks = [io.BytesIO(f.content) for f in request.files if f.field == "mask"]
                if masks:
                    kwargs["mask"] = masks[0]
                resp = await lt.aimage_edit(model=route.target, image=images[0] if len(images) == 1 else images,
                                            prompt=body["prompt"], timeout=route.timeout, **kwargs)
        except UpstreamFailure:
            raise
        except Exception as exc:   # LiteLLM raises its own hierarchy for everything
            raise _map_error(route.name, route, exc) from exc
        return _as_dict(resp)

    async def speech(self, request: SpeechRequest) -> Audio:
        lt = load_litellm()
        route, body = request.route, request.body
        kwargs = self._common(request)
        kwargs.update({k: body[k] for k in _SPEECH_KEYS if body.get(k) is not None})
        fmt = str(body.get("response_format") or "mp3")
        try:
            resp = await lt.aspeech(model=route.target, input=body["input"], voice=body.get("voice"),
                                    response_format=fmt, timeout=route.timeout, **kwargs)
        except Exception as exc:
            raise _map_error(route.name, route, exc) from exc
        content = getattr(resp, "content", None)
        if not isinstance(content, bytes | bytearray):
            raise UpstreamFailure(f"the provider for model {route.name!r} returned no audio bytes")
        return Audio(bytes(content), _TYPES.get(fmt, "application/octet-stream"))
