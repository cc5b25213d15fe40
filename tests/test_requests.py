"""Reading a chat request (middleware/http/requests.py, middleware/http/chat_schema.py)."""

from __future__ import annotations

import orjson
import pytest

from middleware.http.chat_schema import check_part
from middleware.http.errors import CandorError
from middleware.http.requests import last_user_text, parse_chat_body


def _body(**extra: object) -> bytes:
    return orjson.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}], **extra})


@pytest.mark.parametrize(("raw", "param"), [
    (b"", None), (b"{", None), (b"[]", None), (orjson.dumps({"messages": []}), "model"),
    (orjson.dumps({"model": "m", "messages": []}), "messages"), (_body(n=2), "n"), (_body(n=True), "n"),
    (orjson.dumps({"model": "m", "messages": [{"role": "robot", "content": "x"}]}), "messages[0].role"),
])
def test_malformed_requests_are_400_naming_the_field(raw: bytes, param: str | None) -> None:
    with pytest.raises(CandorError) as caught:
        parse_chat_body(raw)
    assert caught.value.status == 400 and caught.value.param == param


def test_unknown_fields_are_passed_on() -> None:
    assert parse_chat_body(_body(vendor_flag={"x": 1}))["vendor_flag"] == {"x": 1}


def test_the_last_user_turn_is_read_with_its_text_parts_joined() -> None:
    body = {"messages": [{"role": "user", "content": "old"}, {"role": "assistant", "content": "a"},
                         {"role": "user", "content": [{"type": "text", "text": "new"},
                                                      {"type": "image_url", "image_url": {"url": "u"}},
                                                      {"type": "text", "text": "words"}]}]}
    assert last_user_text(body) == "new words"


def test_a_refusal_part_is_a_string_field() -> None:
    check_part("p", {"type": "refusal", "refusal": "no"})
    with pytest.raises(CandorError):
        check_part("p", {"type": "refusal", "refusal": 1})
