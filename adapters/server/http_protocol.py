"""uvicorn's httptools protocol with bounded request heads and errors in the OpenAI shape.

uvicorn accepts request heads of any size (32 MiB of headers took a second and 28 MB before the key
was even looked at) and answers malformed requests with a plain-text 400. Here the head (request
line and headers) is bounded in bytes and in header count, answered with 431 before the app runs, and
the protocol's own errors use the same ``{"error": {...}}`` body as every other Candor answer.
"""

from __future__ import annotations

from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEAD_BYTES = 32 * 1024    # request line + headers; browsers and SDKs send well under 8 KiB
MAX_HEADERS = 100

_REASONS = {400: b"Bad Request", 431: b"Request Header Fields Too Large"}


def error_bytes(status: int, code: str, message: str) -> bytes:
    """A complete HTTP/1.1 error response that closes the connection."""
    body = orjson.dumps({"error": {"message": message, "type": "invalid_request_error", "code": code,
                                   "param": None}})
    return b"".join([
        b"HTTP/1.1 %d %s\r\n" % (status, _REASONS[status]),
        b"content-type: application/json\r\n",
        b"content-length: %d\r\n" % len(body),
        b"connection: close\r\n\r\n",
        body,
    ])


class HeadTooLarge(Exception):
    pass


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """Counts the bytes of each request head as they arrive; past the limits: 431 and close."""

    max_head_bytes = MAX_HEAD_BYTES
    max_headers = MAX_HEADERS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._head_bytes = 0
        self._header_count = 0
        self._rejected = False

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = 0
        self._header_count = 0

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        if self._header_count > self.max_headers:
            raise HeadTooLarge   # the parser turns it into HttpParserError: send_400_response sends 431
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        if self._rejected:
            return
        # Feed first: a chunk may end the head and carry body bytes, which do not count against it.
        super().data_received(data)
        if self._in_head and not self._rejected:
            self._head_bytes += len(data)
            if self._head_bytes > self.max_head_bytes:
                self._reject(431, "request_headers_too_large",
                             f"the request's headers are larger than {self.max_head_bytes} bytes")

    def send_400_response(self, msg: str) -> None:
        if self._header_count > self.max_headers:
            self._reject(431, "request_headers_too_large",
                         f"the request has more than {self.max_headers} headers")
        else:
            self._reject(400, "invalid_request", f"malformed HTTP request: {msg}")

    def _reject(self, status: int, code: str, message: str) -> None:
        self._rejected = True
        from middleware import metrics

        metrics.PROTOCOL_ERRORS.labels(code).inc()
        if not self.transport.is_closing():
            self.transport.write(error_bytes(status, code, message))
            self.transport.close()
