"""A provider stub for images and speech: a real HTTP server speaking OpenAI's images and audio APIs,
whose answers each test scripts (which file, inline or by URL, damaged, mislabelled, huge, hanging)."""

from __future__ import annotations

import asyncio
import base64
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


@dataclass
class MediaScript:
    """One answer: ``content`` returned inline (``b64_json``) or at a URL (``as_url``)."""

    content: bytes = b""
    content_type: str = "image/png"
    as_url: bool = False
    url_path: str | None = None       # a URL of the stub's own: "/hang", "/drip", "/big"
    raw_url: str | None = None        # any other URL, as given
    status: int = 200
    n: int = 1


@dataclass
class MediaStub:
    scripts: deque[MediaScript] = field(default_factory=deque)
    requests: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    url: str = ""

    def push(self, *scripts: MediaScript) -> None:
        self.scripts.extend(scripts)

    def reset(self) -> None:
        self.scripts.clear()
        self.requests.clear()
        self.files.clear()

    def _next(self) -> MediaScript:
        return self.scripts.popleft()


def build_media_stub(stub: MediaStub) -> Starlette:
    async def images(request: Request) -> Response:
        if request.headers.get("content-type", "").startswith("multipart/"):
            form = await request.form()
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
            uploads = [(k, v.filename, len(await v.read())) for k, v in form.multi_items() if not isinstance(v, str)]
            stub.requests.append({"path": request.url.path, "body": fields, "files": uploads,
                                  "headers": dict(request.headers)})
        else:
            stub.requests.append({"path": request.url.path, "body": await request.json(),
                                  "headers": dict(request.headers)})
        script = stub._next()
        if script.status != 200:
            return JSONResponse({"error": {"message": "stub images failure", "type": "server_error"}},
                                status_code=script.status)
        data = []
        for i in range(script.n):
            if script.raw_url:
                data.append({"url": script.raw_url})
            elif script.url_path:
                data.append({"url": stub.url + script.url_path})
            elif script.as_url:
                name = f"img-{len(stub.files)}-{i}"
                stub.files[name] = (script.content, script.content_type)
                data.append({"url": f"{stub.url}/files/{name}?sig=secret"})
            else:
                data.append({"b64_json": base64.b64encode(script.content).decode(), "revised_prompt": "stub"})
        return JSONResponse({"created": 1700000000, "data": data, "usage": {"total_tokens": 1}})

    async def speech(request: Request) -> Response:
        stub.requests.append({"path": request.url.path, "body": await request.json(), "headers": dict(request.headers)})
        script = stub._next()
        if script.status != 200:
            return JSONResponse({"error": {"message": "stub speech failure"}}, status_code=script.status)
        return Response(script.content, media_type=script.content_type)

    async def chat(request: Request) -> Response:
        body = await request.json()
        stub.requests.append({"path": request.url.path, "body": body, "headers": dict(request.headers)})
        script = stub._next()
        message: dict[str, Any] = {"role": "assistant", "content": "给你看看" if script.content_type.startswith(
            "image/") else None}
        encoded = base64.b64encode(script.content).decode()
        if body.get("stream") and script.content_type == "audio/pcm16":
            return _streamed_audio(body, script.content)
        if script.content_type.startswith("image/"):
            message["images"] = [{"type": "image_url", "image_url": {"url": f"data:{script.content_type};base64,"
                                                                            + encoded}}]
        else:
            message["audio"] = {"id": "audio_stub", "data": encoded, "expires_at": 1900000000,
                                "transcript": "你好"}
        return JSONResponse({"id": "chatcmpl-media", "object": "chat.completion", "created": 1700000000,
                             "model": body.get("model"), "choices": [{"index": 0, "message": message,
                                                                       "finish_reason": "stop"}]})

    async def files(request: Request) -> Response:
        content, ctype = stub.files[request.path_params["name"]]
        return Response(content, media_type=ctype)

    async def hang(request: Request) -> Response:
        await asyncio.sleep(3600)
        return Response(b"")

    async def drip(request: Request) -> Response:
        async def body() -> Any:
            yield b"\x89PNG\r\n\x1a\n"
            for _ in range(3600):
                await asyncio.sleep(0.2)
                yield b"\0"
        return StreamingResponse(body(), media_type="image/png")

    async def big(request: Request) -> Response:
        async def body() -> Any:
            yield b"\x89PNG\r\n\x1a\n"
            for _ in range(64):
                yield b"\0" * 65536
        return StreamingResponse(body(), media_type="image/png")

    return Starlette(routes=[
        Route("/v1/images/generations", images, methods=["POST"]),
        Route("/v1/images/edits", images, methods=["POST"]),
        Route("/v1/audio/speech", speech, methods=["POST"]),
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/files/{name}", files, methods=["GET"]),
        Route("/hang", hang, methods=["GET"]),
        Route("/drip", drip, methods=["GET"]),
        Route("/big", big, methods=["GET"]),
    ])


def _streamed_audio(body: dict[str, Any], pcm: bytes) -> Response:
    """OpenAI's streamed audio: pcm16 deltas (``delta.audio.data``), the transcript in its own deltas."""
    from starlette.responses import StreamingResponse

    base = {"id": "chatcmpl-media-stream", "object": "chat.completion.chunk", "created": 1700000000,
            "model": body.get("model")}
    half = len(pcm) // 2 - (len(pcm) // 2) % 2
    deltas = [{"role": "assistant", "audio": {"id": "audio_stub", "transcript": "你好"}},
              {"audio": {"id": "audio_stub", "data": base64.b64encode(pcm[:half]).decode()}},
              {"audio": {"id": "audio_stub", "data": base64.b64encode(pcm[half:]).decode()}}]
    events = [b"data: " + orjson.dumps({**base, "choices": [{"index": 0, "delta": d, "finish_reason": None}]})
              + b"\n\n" for d in deltas]
    events.append(b"data: " + orjson.dumps({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                  + b"\n\ndata: [DONE]\n\n")
    return StreamingResponse(iter(events), media_type="text/event-stream")
