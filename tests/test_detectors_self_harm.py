"""ANTH-PROHIBIT-2 (middleware/detectors/self_harm.py): output telling the user to die, glamorising
self-harm, or insulting the user fires; the negated and protective forms do not."""

from __future__ import annotations

import pytest

from middleware.detectors.self_harm import DEFAULT_SELF_HARM


@pytest.mark.parametrize("text", [
    "你去死吧",
    "You should just kill yourself.",
    "死了就解脱了",
    "Cutting will make you feel better.",
    "你真是个废物",
    "You're pathetic.",
])
def test_encouragement_and_abuse_fire(text: str) -> None:
    d = DEFAULT_SELF_HARM.detect(text)
    assert d.matched and d.label == "harmful" and d.rule


@pytest.mark.parametrize("text", [
    "你不是废物",
    "Don't kill yourself, please talk to someone.",
    "自杀不是解脱",
    "If someone tells you to kill yourself, report it.",
    "You might feel like you're a failure, but you're not.",
])
def test_negated_and_protective_forms_pass(text: str) -> None:
    assert not DEFAULT_SELF_HARM.detect(text).matched
