"""Every text of a reply besides the first choice's content is guarded: other choices, reasoning,
refusals, audio transcripts and tool-call arguments, whole and streamed."""

from __future__ import annotations

import json
from typing import Any

from middleware.pipeline.exchange import Exchange
from middleware.rules.fields import ReplyFields
from tests.test_rules_guards import Upper


class SideGuard:
    """A guard whose side steps upper-case sentences containing ``word`` and remember where they ran."""

    name = "upper"

    def __init__(self, word: str) -> None:
        self.word = word
        self.where: list[str] = []

    def start(self, ex: Exchange) -> Upper:
        return Upper(self.word)

    def side(self, ex: Exchange, where: str) -> Upper:
        self.where.append(where)
        return Upper(self.word)


def fields(word: str = "human") -> tuple[ReplyFields, SideGuard]:
    guard = SideGuard(word)
    ex = Exchange.__new__(Exchange)   # the side steps here need nothing of the exchange
    return ReplyFields(ex, [guard]), guard


def completion(*messages: dict[str, Any]) -> dict[str, Any]:
    return {"id": "c", "object": "chat.completion", "choices": [
        {"index": i, "message": {"role": "assistant", **m}, "finish_reason": "stop"} for i, m in enumerate(messages)]}


def test_a_completion_has_every_side_text_guarded_and_the_first_content_left_to_the_pipeline() -> None:
    f, guard = fields()
    args = json.dumps({"note": "I am human. ok.", "n": 3, "tags": ["a human too."]})
    obj = completion(
        {"content": "I am human. first.", "reasoning_content": "Think. I am human.", "refusal": "No human here.",
         "audio": {"id": "a1", "transcript": "A human speaks."},
         "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "say", "arguments": args}}]},
        {"content": "Second human reply."})
    out = f.completion(obj)
    first, second = out["choices"][0]["message"], out["choices"][1]["message"]
    assert first["content"] == "I am human. first."               # the pipeline's chain, not this one
    assert first["reasoning_content"] == "Think. I AM HUMAN."
    assert first["refusal"] == "NO HUMAN HERE."
    assert first["audio"] == {"id": "a1", "transcript": "A HUMAN SPEAKS."}
    called = json.loads(first["tool_calls"][0]["function"]["arguments"])
    assert called == {"note": "I AM HUMAN. ok.", "n": 3, "tags": ["A HUMAN TOO."]}   # still valid JSON
    assert second["content"] == "SECOND HUMAN REPLY."
    assert "choices[1].content" in guard.where and "choices[0].reasoning_content" in guard.where
    assert obj["choices"][0]["message"]["reasoning_content"] == "Think. I am human."   # the input is not mutated


def test_tool_arguments_that_need_no_change_are_passed_byte_for_byte() -> None:
    f, _ = fields()
    raw = '{"city":  "Paris"}'
    out = f.completion(completion({"content": None, "tool_calls": [
        {"id": "t", "type": "function", "function": {"name": "w", "arguments": raw}}]}))
    assert out["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] == raw


def chunk(delta: dict[str, Any], index: int = 0, finish: str | None = None) -> dict[str, Any]:
    return {"id": "c", "object": "chat.completion.chunk", "choices": [
        {"index": index, "delta": delta, "finish_reason": finish}]}


def run(f: ReplyFields, chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for c in chunks:
        out.extend(f.expand([c]))
    return out


def texts(out: list[dict[str, Any]], key: str, index: int = 0) -> str:
    return "".join(c["choices"][0]["delta"].get(key) or "" for c in out
                   if c.get("choices") and c["choices"][0].get("index", 0) == index)


def test_the_common_chunk_passes_as_the_same_object() -> None:
    f, _ = fields()
    c = chunk({"content": "hello"})
    assert next(iter(f.expand([c]))) is c


def test_a_streamed_reasoning_claim_is_held_to_its_sentence_end_and_rewritten_before_the_answer() -> None:
    f, _ = fields()
    pieces = ["I am ", "a hu", "man", ". Then", " more"]
    out = run(f, [chunk({"role": "assistant", "content": ""})] + [chunk({"reasoning_content": p}) for p in pieces]
              + [chunk({"content": "Answer."}), chunk({}, finish="stop")])
    reasoning = [c["choices"][0]["delta"].get("reasoning_content") for c in out]
    assert "I AM A HUMAN." in reasoning and not any(r and "human" in r for r in reasoning)
    # the rest of the reasoning goes out before the first content delta
    order = [k for c in out for k in c["choices"][0]["delta"] if k in ("reasoning_content", "content")]
    first_answer = next(i for i, c in enumerate(out) if c["choices"][0]["delta"].get("content") == "Answer.")
    assert texts(out[:first_answer], "reasoning_content") == "I AM A HUMAN. Then more"
    assert order[-1] == "content"


def test_a_second_streamed_choice_is_guarded_under_its_own_index() -> None:
    f, _ = fields()
    both = {"id": "c", "object": "chat.completion.chunk", "choices": [
        {"index": 0, "delta": {"content": "Fine. "}, "finish_reason": None},
        {"index": 1, "delta": {"content": "I am human"}, "finish_reason": None}]}
    out = run(f, [both, chunk({"content": ". Bye."}, index=1), chunk({}, index=1, finish="stop")])
    assert all(len(c["choices"]) == 1 for c in out)              # split: the pipeline reads choices[0]
    assert texts(out, "content", 0) == "Fine. "                    # the first choice is the pipeline's
    assert texts(out, "content", 1) == "I AM HUMAN. Bye."
    assert out[-1]["choices"][0]["finish_reason"] == "stop"


def test_streamed_tool_arguments_are_held_then_sent_whole_and_guarded_before_the_finish() -> None:
    f, _ = fields()
    head = {"tool_calls": [{"index": 0, "id": "t1", "type": "function", "function": {"name": "say", "arguments": ""}}]}
    parts = ['{"text": "I am', ' human."', "}"]
    out = run(f, [chunk(head)] + [chunk({"tool_calls": [{"index": 0, "function": {"arguments": p}}]}) for p in parts]
              + [chunk({}, finish="tool_calls")])
    assert out[0]["choices"][0]["delta"]["tool_calls"][0]["id"] == "t1"
    args = [tc["function"].get("arguments", "") for c in out for tc in c["choices"][0]["delta"].get("tool_calls", [])]
    assert json.loads("".join(args)) == {"text": "I AM HUMAN."}
    assert out[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert "tool_calls" in out[-2]["choices"][0]["delta"]


def test_a_streamed_audio_transcript_and_refusal_are_guarded() -> None:
    f, _ = fields()
    out = run(f, [chunk({"audio": {"id": "a", "transcript": "A human"}}), chunk({"audio": {"transcript": " talks."}}),
                  chunk({"refusal": "No human. "}), chunk({}, finish="stop")])
    transcript = "".join(c["choices"][0]["delta"].get("audio", {}).get("transcript", "") for c in out)
    assert transcript == "A HUMAN TALKS." and texts(out, "refusal") == "NO HUMAN. "


def test_text_still_held_when_the_stream_ends_without_a_finish_is_flushed_by_close() -> None:
    f, _ = fields()
    out = run(f, [chunk({"reasoning_content": "Still a human"})])
    assert texts(out, "reasoning_content") == ""
    rest = f.close({"id": "c", "object": "chat.completion.chunk", "choices": []})
    assert texts(rest, "reasoning_content") == "STILL A HUMAN"


def test_held_text_flushed_at_a_finish_chunk_does_not_repeat_its_usage() -> None:
    f, _ = fields()
    last = {**chunk({}, finish="stop"), "usage": {"total_tokens": 3}}
    out = run(f, [chunk({"reasoning_content": "A human"}), last])
    assert [c.get("usage") for c in out] == [None, {"total_tokens": 3}]
    assert texts(out, "reasoning_content") == "A HUMAN"
