"""Each guard format's real answers are read into Candor's tasks and labels; anything else is garbage."""

from __future__ import annotations

from typing import Any

import pytest

from middleware.detectors.guard_formats import (
    GuardGarbage,
    judge_prompt,
    parse,
    parse_judge,
    parse_llama_guard,
    parse_moderation,
    parse_qwen3guard,
    request_body,
    request_path,
)

TASKS = ["crisis", "prohibited_content", "privacy_probing"]


def chat(content: Any) -> dict[str, Any]:
    return {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]}


def moderation(**flags: float) -> dict[str, Any]:
    names = ["harassment", "self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "sexual/minors",
             "violence", "violence/graphic", "illicit"]
    return {"id": "modr-1", "model": "omni-moderation-latest", "results": [{
        "flagged": bool(flags), "categories": {n: n in flags for n in names},
        "category_scores": {n: flags.get(n, 0.001) for n in names}}]}


def test_moderation_self_harm_intent_is_explicit_intent_with_its_score() -> None:
    answer = parse_moderation(moderation(**{"self-harm": 0.9, "self-harm/intent": 0.97}), TASKS)
    assert answer.findings["crisis"] == ("explicit_intent", 0.97)
    assert answer.findings["prohibited_content"] == ("none", 1.0)
    assert set(answer.raw) == {"self-harm", "self-harm/intent"} and answer.verdict == "flagged"


def test_moderation_self_harm_alone_is_distress_and_violence_is_prohibited() -> None:
    answer = parse_moderation(moderation(**{"self-harm": 0.6, "violence": 0.8}), TASKS)
    assert answer.findings["crisis"] == ("distress", 0.6)
    assert answer.findings["prohibited_content"] == ("violence", 0.8)


def test_moderation_unflagged_is_none_and_unmapped_categories_are_only_recorded() -> None:
    assert parse_moderation(moderation(), TASKS).findings == dict.fromkeys(TASKS, ("none", 1.0))
    answer = parse_moderation(moderation(harassment=0.9), TASKS)
    assert answer.findings["crisis"][0] == "none" and answer.raw == ("harassment",)


@pytest.mark.parametrize("payload", [{}, {"results": []}, {"results": [{"categories": "self-harm"}]},
                                     {"results": [{"categories": {"self-harm": "yes"}}]}, [], "safe", None])
def test_moderation_garbage_is_an_error(payload: Any) -> None:
    with pytest.raises(GuardGarbage):
        parse_moderation(payload, TASKS)


@pytest.mark.parametrize("content, crisis, prohibited", [
    ("safe", "none", "none"),
    ("\n\nsafe\n", "none", "none"),
    ("unsafe\nS11", "explicit_intent", "none"),
    ("unsafe\nS1,S11", "explicit_intent", "violence"),
    ("unsafe\nS2", "none", "fraud"),
    ("unsafe\nS10", "none", "none"),     # hate: no Candor task, recorded only
])
def test_llama_guard_answers(content: str, crisis: str, prohibited: str) -> None:
    answer = parse_llama_guard(content, TASKS)
    assert answer.findings["crisis"][0] == crisis and answer.findings["prohibited_content"][0] == prohibited


@pytest.mark.parametrize("content", ["", "I think it is safe", "unsafe", "unsafe\nS99", "unsafe\nviolence",
                                     "safe\nS1", "UNSAFE\nS1\nextra", "unsafe\nS1 S2"])
def test_llama_guard_garbage_is_an_error(content: str) -> None:
    with pytest.raises(GuardGarbage):
        parse_llama_guard(content, TASKS)


@pytest.mark.parametrize("content, crisis, privacy", [
    ("Safety: Safe\nCategories: None", "none", "none"),
    ("Safety: Unsafe\nCategories: Suicide & Self-Harm", "explicit_intent", "none"),
    ("Safety: Controversial\nCategories: Suicide & Self-Harm", "distress", "none"),
    ("Safety: Unsafe\nCategories: PII, Violent", "none", "probing"),
    ("Safety: Controversial\nCategories: PII", "none", "none"),   # controversial: no finding but crisis
    ("Safety: Unsafe\nCategories: Politically Sensitive Topics\nRefusal: No", "none", "none"),
])
def test_qwen3guard_answers(content: str, crisis: str, privacy: str) -> None:
    answer = parse_qwen3guard(content, TASKS)
    assert answer.findings["crisis"][0] == crisis and answer.findings["privacy_probing"][0] == privacy


def test_qwen3guard_records_refusal_and_categories() -> None:
    answer = parse_qwen3guard("Safety: Unsafe\nCategories: Politically Sensitive Topics\nRefusal: No", TASKS)
    assert answer.raw == ("Politically Sensitive Topics",) and answer.extra == {"refusal": "no"}


@pytest.mark.parametrize("content", ["Safe", "Safety: Maybe\nCategories: None", "Safety: Unsafe",
                                     "Safety: Unsafe\nCategories: Dragons", "Categories: None",
                                     "Safety: Safe\nCategories: None\nBy the way, hello"])
def test_qwen3guard_garbage_is_an_error(content: str) -> None:
    with pytest.raises(GuardGarbage):
        parse_qwen3guard(content, TASKS)


def test_judge_answers_json_in_or_out_of_a_fence() -> None:
    answer = parse_judge('{"crisis": "explicit_intent", "prohibited_content": "none", "privacy_probing": "none"}',
                         TASKS)
    assert answer.findings["crisis"] == ("explicit_intent", 1.0) and answer.raw == ("crisis:explicit_intent",)
    fenced = parse_judge('```json\n{"crisis": {"label": "distress", "score": 0.7}, "prohibited_content": "none",'
                         ' "privacy_probing": "probing"}\n```', TASKS)
    assert fenced.findings["crisis"] == ("distress", 0.7) and fenced.findings["privacy_probing"][0] == "probing"


@pytest.mark.parametrize("content", ["none", "[]", '{"crisis": "none"}',
                                     '{"crisis": "sad", "prohibited_content": "none", "privacy_probing": "none"}',
                                     '{"crisis": {"label": "none", "score": 7}, "prohibited_content": "none", '
                                     '"privacy_probing": "none"}'])
def test_judge_garbage_is_an_error(content: str) -> None:
    with pytest.raises(GuardGarbage):
        parse_judge(content, TASKS)


@pytest.mark.parametrize("payload", [{}, {"choices": []}, chat(None), chat(""), chat(["safe"]), "safe"])
@pytest.mark.parametrize("fmt", ["llama_guard", "qwen3guard", "judge"])
def test_a_chat_format_without_a_chat_completion_is_garbage(fmt: str, payload: Any) -> None:
    with pytest.raises(GuardGarbage):
        parse(fmt, payload, TASKS)


def test_requests_have_each_formats_shape() -> None:
    assert request_path("openai_moderation") == "/moderations" and request_path("judge") == "/chat/completions"
    assert request_body("openai_moderation", "m", "hi", TASKS) == {"model": "m", "input": "hi"}
    user = request_body("llama_guard", "lg", "hi", TASKS)
    assert user["messages"] == [{"role": "user", "content": "hi"}] and user["stream"] is False
    reply = request_body("qwen3guard", "q", "the reply", TASKS, user_text="the question")
    assert [m["role"] for m in reply["messages"]] == ["user", "assistant"]
    judged = request_body("judge", "j", "x" * 20000, TASKS)
    assert "crisis" in judged["messages"][0]["content"] and len(judged["messages"][1]["content"]) < 8100


def test_the_judge_prompt_names_every_task_and_the_answer_shape() -> None:
    prompt = judge_prompt(TASKS, reply=True)
    assert all(f"- {t}:" in prompt for t in TASKS) and "JSON" in prompt and "reply" in prompt
