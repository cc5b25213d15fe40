"""The pipeline's frames in the Responses wire format (middleware/responses/render.py): one response object,
or SSE events from ``response.created`` to ``response.completed`` with increasing sequence numbers, tool
calls as ``function_call`` items, the record durable before the end, and an ``error`` event on failure."""

from __future__ import annotations

from typing import Any

import orjson

from middleware.http.errors import CandorError
from middleware.pipeline.exchange import Exchange
from middleware.pipeline.stages import Pipeline
from middleware.responses.render import collect_response, response_object, stream_response
from middleware.testing import ROUTE, RecordingRecorder, Reply, ScriptedUpstream, compile_rules, make_exchange

CALL = {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "x"}'}}


def _pipeline(*replies: Reply | str) -> tuple[Pipeline, RecordingRecorder]:
    rules = compile_rules()
    rec = RecordingRecorder()
    return Pipeline(routes={ROUTE.name: ROUTE}, upstreams={"scripted": ScriptedUpstream(replies)},
                    rules_for=lambda p: rules, recorder=rec, new_event_id=lambda: "evt-r"), rec


def _exchange(stream: bool) -> Exchange:
    ex = make_exchange(text="你好", stream=stream, event_id="evt-r")
    ex.state.responses_request = {"model": "companion", "instructions": "be kind", "metadata": {"k": "v"}}
    return ex


async def _collect(pipe: Pipeline, ex: Exchange) -> dict[str, Any]:
    rules = await pipe.admit(ex)
    source = pipe.source(ex)
    return await collect_response(pipe, ex, rules, await pipe.first(ex, source), source)


async def _events(pipe: Pipeline, ex: Exchange, done: list[Exchange]) -> list[tuple[str, dict[str, Any]]]:
    rules = await pipe.admit(ex)
    source = pipe.source(ex)
    first = await pipe.first(ex, source)
    raw = b"".join([chunk async for chunk in stream_response(pipe, ex, rules, first, source, done.append)])
    out = []
    for block in raw.decode().strip().split("\n\n"):
        event_line, data_line = block.split("\n")
        data = orjson.loads(data_line.removeprefix("data: "))
        assert event_line == f"event: {data['type']}"
        out.append((data["type"], data))
    return out


async def test_a_collected_reply_is_one_response_object_with_compliance() -> None:
    pipe, rec = _pipeline("我是你的AI朋友。")
    ex = _exchange(stream=False)
    obj = await _collect(pipe, ex)
    assert obj["object"] == "response" and obj["status"] == "completed" and obj["id"] == "resp_evt-r"
    assert obj["model"] == "companion" and obj["instructions"] == "be kind" and obj["metadata"] == {"k": "v"}
    [message] = obj["output"]
    assert message["type"] == "message" and "我是你的AI朋友。" in message["content"][0]["text"]
    assert obj["compliance"]["event_id"] == ex.event_id
    assert rec.records and rec.records[-1][1] is None


async def test_tool_calls_become_function_call_items() -> None:
    pipe, _ = _pipeline(Reply(text=None, tool_calls=[CALL]))
    ex = _exchange(stream=False)
    ex.body["tools"] = [{"type": "function", "function": {"name": "lookup"}}]
    obj = await _collect(pipe, ex)
    calls = [o for o in obj["output"] if o["type"] == "function_call"]
    assert calls == [{"type": "function_call", "id": "fc_evt-r_0", "call_id": "call_1", "name": "lookup",
                      "arguments": '{"q": "x"}', "status": "completed"}]


def test_usage_and_incomplete_replies_are_translated() -> None:
    ex = _exchange(stream=False)
    obj = response_object(ex, "completed", [], {"prompt_tokens": 5, "completion_tokens": 3,
                                                "completion_tokens_details": {"reasoning_tokens": 1}}, "length")
    assert obj["status"] == "incomplete" and obj["incomplete_details"] == {"reason": "max_output_tokens"}
    assert obj["usage"] == {"input_tokens": 5, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 3,
                            "output_tokens_details": {"reasoning_tokens": 1}, "total_tokens": 8}
    assert response_object(ex, "completed", [], None, "content_filter")["incomplete_details"] == \
        {"reason": "content_filter"}


async def test_a_stream_is_the_responses_event_sequence_recorded_before_it_completes() -> None:
    pipe, rec = _pipeline(Reply("我在这里陪你聊天。", chunks=3))
    ex = _exchange(stream=True)
    done: list[Exchange] = []
    events = await _events(pipe, ex, done)
    kinds = [k for k, _ in events]
    assert kinds[:4] == ["response.created", "response.in_progress", "response.output_item.added",
                         "response.content_part.added"]
    assert kinds[-4:] == ["response.output_text.done", "response.content_part.done", "response.output_item.done",
                          "response.completed"]
    assert [d["sequence_number"] for _, d in events] == list(range(len(events)))
    assert "compliance" in events[0][1]["response"] and "compliance" not in events[1][1]["response"]
    text = "".join(d["delta"] for k, d in events if k == "response.output_text.delta")
    assert "我在这里陪你聊天。" in text and events[-4][1]["text"] == text
    assert events[-1][1]["response"]["output"][0]["content"][0]["text"] == text
    assert rec.records[-1][1] is None and done == [ex]


async def test_streamed_tool_calls_are_assembled_into_items() -> None:
    pipe, _ = _pipeline(Reply(text=None, tool_calls=[CALL]))
    ex = _exchange(stream=True)
    ex.body["tools"] = [{"type": "function", "function": {"name": "lookup"}}]
    events = await _events(pipe, ex, [])
    done = [d["arguments"] for k, d in events if k == "response.function_call_arguments.done"]
    assert done == ['{"q": "x"}']
    final = events[-1][1]["response"]["output"]
    assert [o["type"] for o in final][-1] == "function_call" and final[-1]["name"] == "lookup"


class FailingMidStream(ScriptedUpstream):
    async def chat(self, request: Any) -> Any:
        yield {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m",
               "choices": [{"index": 0, "delta": {"role": "assistant", "content": "你好。"}, "finish_reason": None}]}
        raise CandorError(502, "upstream_error", "the provider hung up")


async def test_a_failure_mid_stream_ends_with_an_error_event_on_record() -> None:
    rules = compile_rules()
    rec = RecordingRecorder()
    pipe = Pipeline(routes={ROUTE.name: ROUTE}, upstreams={"scripted": FailingMidStream()},
                    rules_for=lambda p: rules, recorder=rec, new_event_id=lambda: "evt-f")
    ex = _exchange(stream=True)
    done: list[Exchange] = []
    events = await _events(pipe, ex, done)
    kind, data = events[-1]
    assert kind == "error" and data["code"] == "upstream_error" and data["error"]["message"]
    assert "response.completed" not in [k for k, _ in events]
    assert ex.status == 502 and rec.records[-1][1] is not None and done == [ex]
