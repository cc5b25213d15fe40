"""The pipeline (middleware/pipeline/stages.py) with the engine's own test doubles: admit, call, guard,
label and notify, as frames; no server, no network."""

from __future__ import annotations

from typing import Any

import pytest

from middleware.http.errors import CandorError
from middleware.pipeline.stages import End, Passthrough, Pipeline, Text
from middleware.testing import (
    ROUTE,
    RecordingRecorder,
    Reply,
    ScriptedUpstream,
    compile_rules,
    make_exchange,
)


def _pipeline(up: ScriptedUpstream, policy_id: str = "cn-anthropomorphic-2026") -> tuple[Pipeline, Any]:
    rules = compile_rules(policy_id)
    recorder = RecordingRecorder()
    pipe = Pipeline(routes={ROUTE.name: ROUTE}, upstreams={"scripted": up}, rules_for=lambda p: rules,
                    recorder=recorder, new_event_id=lambda: "evt-1")
    return pipe, recorder


async def _frames(pipe: Pipeline, stream: bool, text: str = "你好") -> tuple[Any, list[Any]]:
    ex = make_exchange(text=text, stream=stream)
    rules = await pipe.admit(ex)
    source = pipe.source(ex)
    first = await pipe.first(ex, source)
    return ex, [f async for f in pipe.frames(ex, rules, first, source)]


@pytest.mark.parametrize("stream", [False, True])
async def test_a_reply_is_framed_with_the_disclosure_and_label_first(stream: bool) -> None:
    pipe, _ = _pipeline(ScriptedUpstream(["今天天气不错。"]))
    ex, frames = await _frames(pipe, stream)
    texts = [f.text for f in frames if isinstance(f, Text)]
    assert "今天天气不错" in "".join(texts)
    assert isinstance(frames[-1], End)
    prefix = texts[0]
    assert ex.label is not None and ex.label["explicit"] in prefix   # the label goes before the reply
    assert any(n["kind"] == "ai_disclosure" for n in ex.notices)


async def test_tool_call_deltas_pass_through_untouched() -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{}"}}
    pipe, _ = _pipeline(ScriptedUpstream([Reply("", tool_calls=[call])]))
    _, frames = await _frames(pipe, True)
    passed = [f.chunk for f in frames if isinstance(f, Passthrough)]
    assert passed and passed[0]["choices"][0]["delta"]["tool_calls"][0]["function"]["name"] == "weather"


async def test_a_human_claim_is_rewritten_before_it_is_released() -> None:
    pipe, _ = _pipeline(ScriptedUpstream([Reply("I'm a real person, not a bot. How are you?", chunks=8)]))
    ex, frames = await _frames(pipe, True, text="hello")
    delivered = "".join(f.text for f in frames if isinstance(f, Text))
    assert "I'm a real person" not in delivered
    assert "human_claim_rewritten" in ex.actions


async def test_the_system_instruction_reaches_the_provider() -> None:
    up = ScriptedUpstream(["ok"])
    pipe, _ = _pipeline(up)
    await _frames(pipe, False)
    messages = up.requests[0].body["messages"]
    assert messages[0]["role"] == "system" and up.requests[0].body["model"] == ROUTE.upstream_model


async def test_an_unknown_model_is_a_404_naming_the_configured_ones() -> None:
    pipe, _ = _pipeline(ScriptedUpstream())
    with pytest.raises(CandorError) as caught:
        pipe.route({"model": "nope"})
    assert caught.value.status == 404 and ROUTE.name in caught.value.message


async def test_an_empty_provider_reply_is_a_502() -> None:
    class Empty(ScriptedUpstream):
        async def chat(self, request: Any) -> Any:   # type: ignore[override]
            return
            yield

    pipe, _ = _pipeline(Empty())
    ex = make_exchange()
    await pipe.admit(ex)
    with pytest.raises(CandorError) as caught:
        await pipe.first(ex, pipe.source(ex))
    assert caught.value.status == 502


async def test_a_gate_that_answers_skips_the_provider() -> None:
    up = ScriptedUpstream(["should not be called"])
    pipe, _ = _pipeline(up)
    ex, frames = await _frames(pipe, False, text="我不想活了，药都准备好了")
    assert ex.crisis is not None and not up.requests
    assert any(isinstance(f, Text) and f.text for f in frames)
