"""A Responses request read as a chat request (middleware/responses/translate.py): instructions, input
items, tools, text.format and the fields that map one-to-one; what cannot be carried is refused with a 400
naming the field, never dropped."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from middleware.http.errors import CandorError
from middleware.responses.translate import parse_responses_body, to_chat


def test_a_string_input_with_instructions() -> None:
    chat = to_chat({"model": "m", "instructions": "be brief", "input": "hi", "temperature": 0.2,
                    "max_output_tokens": 50, "store": True, "truncation": "auto", "reasoning": {"effort": "low"}})
    assert chat["messages"] == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
    assert chat["temperature"] == 0.2 and chat["max_tokens"] == 50 and chat["reasoning_effort"] == "low"
    assert "store" not in chat and "truncation" not in chat   # nothing stored upstream; ignorable fields left out


def test_items_become_messages_tool_calls_and_tool_results() -> None:
    chat = to_chat({"model": "m", "input": [
        {"role": "user", "content": [{"type": "input_text", "text": "look "}, {"type": "input_text", "text": "here"}]},
        {"type": "reasoning", "summary": []},
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": '{"a": 1}'},
        {"type": "function_call", "call_id": "c2", "name": "g"},
        {"type": "function_call_output", "call_id": "c1", "output": {"ok": True}},
        {"role": "user", "content": [{"type": "input_text", "text": "and"},
                                     {"type": "input_image", "image_url": "https://x/y.png", "detail": "low"}]},
    ]})
    m = chat["messages"]
    assert m[0] == {"role": "user", "content": "look here"}         # all-text parts: one string
    assert m[1]["role"] == "assistant" and [c["id"] for c in m[1]["tool_calls"]] == ["c1", "c2"]   # one turn
    assert m[1]["tool_calls"][1]["function"]["arguments"] == "{}"
    assert m[2] == {"role": "tool", "tool_call_id": "c1", "content": '{"ok":true}'}
    assert m[3]["content"][1] == {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}}


def test_tools_tool_choice_and_formats() -> None:
    chat = to_chat({"model": "m", "input": "x", "tools": [{"type": "function", "name": "f", "parameters": {}}],
                    "tool_choice": {"type": "function", "name": "f"},
                    "text": {"format": {"type": "json_schema", "schema": {"type": "object"}}}})
    assert chat["tools"] == [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    assert chat["tool_choice"] == {"type": "function", "function": {"name": "f"}}
    assert chat["response_format"] == {"type": "json_schema",
                                       "json_schema": {"name": "response", "schema": {"type": "object"}}}
    assert to_chat({"model": "m", "input": "x", "text": {"format": {"type": "json_object"}}})["response_format"] == \
        {"type": "json_object"}
    assert "response_format" not in to_chat({"model": "m", "input": "x", "text": {"format": {"type": "text"}}})
    assert to_chat({"model": "m", "input": "x", "stream": True})["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize(("req", "param"), [
    ({"model": "m", "input": "x", "previous_response_id": "resp_1"}, "previous_response_id"),
    ({"model": "m", "input": "x", "conversation": "c"}, "conversation"),
    ({"input": "x"}, "model"),
    ({"model": "m", "input": []}, "input"),
    ({"model": "m", "input": "x", "instructions": 3}, "instructions"),
    ({"model": "m", "input": [{"role": "robot", "content": "x"}]}, "input[0].role"),
    ({"model": "m", "input": [{"type": "item_reference", "id": "x"}]}, "input[0]"),
    ({"model": "m", "input": [{"type": "web_search_call"}]}, "input[0].type"),
    ({"model": "m", "input": [{"role": "user", "content": [{"type": "input_audio"}]}]}, "input[0].content[0]"),
    ({"model": "m", "input": "x", "tools": [{"type": "web_search"}]}, "tools[0]"),
    ({"model": "m", "input": "x", "tool_choice": {"type": "web_search"}}, "tool_choice"),
    ({"model": "m", "input": "x", "text": {"format": {"type": "yaml"}}}, "text.format"),
])
def test_what_cannot_be_carried_is_refused_naming_the_field(req: dict[str, Any], param: str) -> None:
    with pytest.raises(CandorError) as err:
        to_chat(req)
    assert err.value.status == 400 and err.value.param == param


def test_the_body_is_checked_as_a_chat_body_and_keeps_the_original() -> None:
    raw = orjson.dumps({"model": "m", "input": "hi", "metadata": {"k": "v"}})
    body = parse_responses_body(raw, keep_as="_orig")
    assert body["messages"] == [{"role": "user", "content": "hi"}] and body["_orig"]["metadata"] == {"k": "v"}
    assert "_orig" not in parse_responses_body(raw)
    for bad in (b"", b"{", b"[1]"):
        with pytest.raises(CandorError):
            parse_responses_body(bad)
