"""The SSE codec (middleware/http/sse.py): events split anywhere still decode whole."""

from __future__ import annotations

from middleware.http.sse import DONE, SSEDecoder, encode


def test_events_split_at_every_byte_decode_whole() -> None:
    raw = encode({"a": 1}) + b"event: x\r\ndata: {\"b\":\r\ndata: 2}\r\n\r\n" + DONE
    dec = SSEDecoder()
    out = [e for i in range(len(raw)) for e in dec.feed(raw[i:i + 1])]
    assert out == [b'{"a":1}', b'{"b":\n2}', b"[DONE]"]


def test_a_last_event_without_a_blank_line_is_returned_at_close() -> None:
    dec = SSEDecoder()
    assert dec.feed(b"data: tail") == []
    assert dec.close() == [b"tail"]
