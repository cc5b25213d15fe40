"""The exit gate: the policy's own phrases first, then the layer reading the message with earlier turns."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from middleware.detectors.exit_intent import ExitIntentDetector
from middleware.rules import exit as exit_rules
from middleware.rules.detection import Reading
from middleware.rules.exit import ExitGate
from tests.rules_support import exchange, pack


class Store:
    async def end_session(self, scope: str) -> None:
        return None


def gate(*phrases: str) -> ExitGate:
    policy = pack()
    assert policy.exit is not None
    return ExitGate(policy, policy.exit, ExitIntentDetector({"zh": list(phrases)}), lambda: Store())  # type: ignore[arg-type,return-value]


def test_a_policy_phrase_is_an_exit_by_the_pattern_tier() -> None:
    ex = exchange("溜了溜了")
    asyncio.run(gate("溜了").admit(ex))
    assert ex.actions == ["exit_honored"] and ex.kind == "exit"
    detail = next(d["detail"] for d in ex.decisions if d["rule"] == "exit")
    assert detail["tier"] == "pattern" and detail["score"] == 1.0


def test_the_layer_reads_the_message_with_earlier_turns(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, ...]] = []

    def fake(task: str, text: str, context: Any = ()) -> Reading:
        seen.append(tuple(context))
        return Reading(task, "exit", 0.93, "model", "model p(exit=0.93)")

    monkeypatch.setattr(exit_rules, "judge", fake)
    ex = exchange("那我先撤啦", history=[{"role": "user", "content": "今天就到这吧"}])
    asyncio.run(gate().admit(ex))
    assert seen == [("今天就到这吧",)] and ex.actions == ["exit_honored"]
    detail = next(d["detail"] for d in ex.decisions if d["rule"] == "exit")
    assert detail["tier"] == "model" and detail["score"] == 0.93


def test_no_exit_in_a_crisis() -> None:
    ex = exchange("再见")
    ex.crisis = {"level": "explicit_intent"}
    asyncio.run(gate().admit(ex))
    assert ex.actions == []


def test_a_built_in_phrase_is_read_by_the_layer_not_taken_on_sight(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the operator's own phrases always stand; a built-in rule's hit ("bye") is the layer's to judge,
    with the model and the earlier turns (a goodbye inside a story the user tells is no exit)."""
    seen: list[str] = []

    def fake(task: str, text: str, context: Any = ()) -> Reading:
        seen.append(text)
        return Reading(task, "none", 0.97, "model", "model p(none=0.97)")

    monkeypatch.setattr(exit_rules, "judge", fake)
    ex = exchange("and then the knight said bye", history=[{"role": "user", "content": "let me tell you a story"}])
    asyncio.run(gate().admit(ex))
    assert seen == ["and then the knight said bye"] and ex.actions == []
    own = exchange("溜了")
    asyncio.run(gate("溜了").admit(own))
    assert own.actions == ["exit_honored"] and seen == ["and then the knight said bye"]   # no layer call
