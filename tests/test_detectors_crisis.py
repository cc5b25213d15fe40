"""ANTH-CRISIS-1/2 (middleware/detectors/crisis.py): the level and category of a user message, and the
contexts that drop or downgrade a hit (negation, figurative framing, distant past, recovery, accidents)."""

from __future__ import annotations

import pytest

from middleware.detectors.crisis import DEFAULT_CRISIS, assess_crisis


@pytest.mark.parametrize(("text", "level", "category"), [
    ("我想自杀", "explicit_intent", "self_harm"),
    ("I want to kill myself tonight", "explicit_intent", "self_harm"),
    ("I feel completely hopeless", "distress", "emotional"),
    ("我不会自杀的，放心", "none", None),
    ("I'm not suicidal", "none", None),
    ("热得想死", "none", None),
    ("How do I kill a zombie process?", "none", None),
    ("I cut myself while cooking", "none", None),
])
def test_levels_and_categories(text: str, level: str, category: str | None) -> None:
    a = assess_crisis(text)
    assert (a.level, a.category) == (level, category)
    d = DEFAULT_CRISIS.detect(text)
    assert d.label == level and d.matched == (level != "none")
    assert (d.spans != []) == (level != "none")


def test_self_harm_wins_over_other_categories() -> None:
    a = assess_crisis("我破产了，什么都没了，我想自杀")
    assert a.level == "explicit_intent" and a.category == "self_harm"


def test_recovery_from_a_distant_past_drops_the_hit() -> None:
    assert assess_crisis("我想过自杀，今晚就动手").level == "explicit_intent"
    assert assess_crisis("以前我想过自杀").level == "distress"          # a distant past downgrades
    assert assess_crisis("I used to cut myself").level == "distress"
    assert assess_crisis("I used to cut myself, but I'm doing better now").level == "none"


def test_as_detection_carries_the_assessment() -> None:
    a = assess_crisis("我想自杀")
    d = a.as_detection()
    assert (d.label, d.matched, d.spans, d.rule) == (a.level, True, a.spans, a.rule) and a.rule
