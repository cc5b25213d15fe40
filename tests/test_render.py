"""Renderers (middleware/pipeline/render.py): the same frames as SSE chunks or as one JSON body."""

from __future__ import annotations

import orjson

from middleware.http.sse import SSEDecoder
from middleware.pipeline.render import collect_reply, stream_reply
from middleware.pipeline.stages import Pipeline
from middleware.testing import ROUTE, RecordingRecorder, ScriptedUpstream, compile_rules, make_exchange


def _pipe(reply: str) -> tuple[Pipeline, RecordingRecorder]:
    rules = compile_rules()
    recorder = RecordingRecorder()
    return Pipeline(routes={ROUTE.name: ROUTE}, upstreams={"scripted": ScriptedUpstream([reply])},
                    rules_for=lambda p: rules, recorder=recorder, new_event_id=lambda: "evt-r"), recorder


async def test_collect_reply_is_one_chat_completion_with_compliance_recorded_first() -> None:
    pipe, recorder = _pipe("一切都好。")
    ex = make_exchange()
    rules = await pipe.admit(ex)
    source = pipe.source(ex)
    body = await collect_reply(pipe, ex, rules, await pipe.first(ex, source), source)
    assert body["object"] == "chat.completion"
    assert "一切都好" in body["choices"][0]["message"]["content"]
    assert body["compliance"]["event_id"] == ex.event_id
    assert [r[0] for r in recorder.records] == [ex]


async def test_stream_reply_is_valid_chunks_compliance_first_and_last_then_done() -> None:
    pipe, recorder = _pipe("Once upon a time. The end.")
    ex = make_exchange(text="tell me a story", stream=True)
    rules = await pipe.admit(ex)
    source = pipe.source(ex)
    finished = []
    raw = b"".join([b async for b in stream_reply(pipe, ex, rules, await pipe.first(ex, source), source,
                                                  finished.append)])
    events = SSEDecoder().feed(raw)
    assert events[-1] == b"[DONE]"
    chunks = [orjson.loads(e) for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert "compliance" in chunks[0] and "compliance" in chunks[-1]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert "Once upon a time" in text
    assert finished == [ex] and len(recorder.records) == 1
