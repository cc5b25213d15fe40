"""Server-sent events as OpenAI speaks them: ``data: {json}\\n\\n`` ... ``data: [DONE]\\n\\n``."""

from __future__ import annotations

from typing import Any

import orjson

DONE = b"data: [DONE]\n\n"


def encode(obj: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(obj) + b"\n\n"


class SSEDecoder:
    """Incremental decoder: feed raw bytes as they arrive, get the ``data`` payload of each whole event.

    Work per call is proportional to the bytes fed; nothing waits for the end of the stream.
    """

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        buf = self._buf + chunk if self._buf else chunk
        tail = b""
        if buf.endswith(b"\r"):   # maybe the first half of a CRLF split across reads: decide next time
            buf, tail = buf[:-1], b"\r"
        if b"\r" in buf:
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        out: list[bytes] = []
        start = 0
        while True:
            end = buf.find(b"\n\n", start)
            if end < 0:
                break
            event = buf[start:end]
            start = end + 2
            data = _event_data(event)
            if data is not None:
                out.append(data)
        self._buf = buf[start:] + tail
        return out

    def close(self) -> list[bytes]:
        """The last event when the stream ended without a blank line."""
        rest, self._buf = self._buf.replace(b"\r", b"\n"), b""
        data = _event_data(rest.strip(b"\n")) if rest.strip() else None
        return [data] if data is not None else []


def _event_data(event: bytes) -> bytes | None:
    if event.startswith(b"data:") and b"\n" not in event:
        return event[5:].lstrip(b" ")
    lines = [ln[5:].lstrip(b" ") for ln in event.split(b"\n") if ln.startswith(b"data:")]
    return b"\n".join(lines) if lines else None
