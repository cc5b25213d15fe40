"""The bounded HTTP protocol (adapters/server/http_protocol.py), fed bytes directly: heads over the limits get
431 in the OpenAI shape before any app code runs; a body in the same read does not count as head."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState

from adapters.server.http_protocol import MAX_HEAD_BYTES, BoundedHttpToolsProtocol


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8787), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += bytes(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass


async def _app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _protocol() -> tuple[BoundedHttpToolsProtocol, FakeTransport]:
    config = Config(app=_app, http=BoundedHttpToolsProtocol, lifespan="off")
    config.load()
    proto = BoundedHttpToolsProtocol(config=config, server_state=ServerState(), app_state={})
    transport = FakeTransport()
    proto.connection_made(transport)
    return proto, transport


async def test_a_head_over_the_limit_arriving_in_pieces_is_431() -> None:
    proto, transport = _protocol()
    proto.data_received(b"GET / HTTP/1.1\r\nx-pad: ")
    for _ in range(MAX_HEAD_BYTES // 1024 + 2):
        proto.data_received(b"a" * 1024)
    assert transport.written.startswith(b"HTTP/1.1 431") and transport.closed
    body = orjson.loads(transport.written.partition(b"\r\n\r\n")[2])
    assert body["error"]["code"] == "request_headers_too_large"


async def test_a_large_body_in_the_same_read_is_not_head() -> None:
    proto, transport = _protocol()
    body = b"x" * (MAX_HEAD_BYTES * 2)
    proto.data_received(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: %d\r\n\r\n" % len(body) + body)
    await asyncio.sleep(0.05)
    assert not transport.written.startswith(b"HTTP/1.1 431"), transport.written[:100]


@pytest.mark.parametrize("garbage", [b"\x00\x01\x02 nonsense\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n"])
async def test_malformed_requests_get_an_openai_shaped_400(garbage: bytes) -> None:
    proto, transport = _protocol()
    proto.data_received(garbage)
    assert transport.written.startswith(b"HTTP/1.1 400")
    assert orjson.loads(transport.written.partition(b"\r\n\r\n")[2])["error"]["code"] == "invalid_request"
