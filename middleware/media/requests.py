"""Reading and bounding media requests: the images JSON body, the images/edits multipart form and the
speech JSON body, each checked for the shape the endpoints rely on (400 ``invalid_request`` otherwise)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import orjson
from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from middleware.http.errors import invalid_request
from middleware.media.formats import IMAGE_FORMATS, sniff
from middleware.media.upstream import Upload

# response formats whose files carry both labels here; aac and pcm have no container for the implicit
# label, so they are refused before the provider is called rather than delivered unlabelled
SPEECH_FORMATS = ("mp3", "wav", "flac", "opus")
SPEECH_REFUSED = ("aac", "pcm")
MAX_IMAGES = 10


def _json(raw: bytes, what: str) -> dict[str, Any]:
    if not raw:
        raise invalid_request(f"the request body is empty: send a JSON object with {what}")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise invalid_request(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise invalid_request(f"the request body must be a JSON object with {what}")
    return body


def _model(body: dict[str, Any]) -> None:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise invalid_request("'model' is required and must be a string (GET /v1/models lists them)", param="model")


def _images_common(body: dict[str, Any]) -> None:
    _model(body)
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise invalid_request("'prompt' is required and must be a non-empty string", param="prompt")
    n = body.get("n", 1)
    if n is None:
        n = 1
    if isinstance(n, str) and n.isdigit():
        n = body["n"] = int(n)
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_IMAGES:
        raise invalid_request(f"'n' must be an integer from 1 to {MAX_IMAGES}", param="n")
    fmt = body.get("response_format")
    if fmt not in (None, "b64_json", "url"):
        raise invalid_request("'response_format' must be b64_json or url (Candor returns b64_json either way: "
                              "the labelled image is a new file)", param="response_format")
    if body.get("stream"):
        raise invalid_request("streamed image generation is not supported through Candor: every image is "
                              "labelled as a whole file; send stream: false", param="stream")


def parse_images_body(raw: bytes) -> dict[str, Any]:
    body = _json(raw, "'model' and 'prompt'")
    _images_common(body)
    return body


def parse_speech_body(raw: bytes) -> dict[str, Any]:
    body = _json(raw, "'model', 'input' and 'voice'")
    _model(body)
    text = body.get("input")
    if not isinstance(text, str) or not text.strip():
        raise invalid_request("'input' is required and must be a non-empty string", param="input")
    fmt = body.get("response_format", "mp3") or "mp3"
    if fmt in SPEECH_REFUSED:
        raise invalid_request(f"response_format {fmt!r} has no place for the implicit AIGC label "
                              f"(LABEL-IMPLICIT-1); use one of {', '.join(SPEECH_FORMATS)}", param="response_format")
    if fmt not in SPEECH_FORMATS:
        raise invalid_request(f"response_format must be one of {', '.join(SPEECH_FORMATS)}", param="response_format")
    if body.get("stream_format") not in (None, "audio"):
        raise invalid_request("stream_format 'sse' is not supported through Candor: the audio is labelled as a "
                              "whole file", param="stream_format")
    return body


async def _once(raw: bytes) -> AsyncGenerator[bytes, None]:
    yield raw


async def parse_edit_form(headers: Headers, raw: bytes) -> tuple[dict[str, Any], list[Upload]]:
    """The images/edits form: text fields into a body, ``image``/``image[]``/``mask`` files checked to be
    PNG, JPEG or WebP by their bytes."""
    if not headers.get("content-type", "").startswith("multipart/form-data"):
        raise invalid_request("images/edits takes multipart/form-data with 'image', 'prompt' and 'model'")
    try:
        form = await MultiPartParser(headers, _once(raw), max_files=MAX_IMAGES + 2, max_fields=64).parse()
    except MultiPartException as exc:
        raise invalid_request(f"the multipart form cannot be read: {exc.message}") from None
    body: dict[str, Any] = {}
    files: list[Upload] = []
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            content = await value.read()
            kind = sniff(content)
            if kind not in IMAGE_FORMATS:
                raise invalid_request(f"{key} {value.filename!r} is not a PNG, JPEG or WebP image", param=key)
            files.append(Upload(key, value.filename or key, content, f"image/{kind}"))
        else:
            body[key] = value
    if not any(f.field in ("image", "image[]") for f in files):
        raise invalid_request("'image' is required: the image to edit (PNG, JPEG or WebP)", param="image")
    _images_common(body)
    return body, files
