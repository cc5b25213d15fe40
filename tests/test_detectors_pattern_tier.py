"""The pattern tier (middleware/detectors/pattern_tier.py): each task's pattern detector answers in the
layer's labels with the rule that fired; crisis takes the most severe reading over the text's views."""

from __future__ import annotations

import pytest

from middleware.detectors.crisis import CrisisAssessment
from middleware.detectors.exit_intent import DEFAULT_EXIT, ExitIntentDetector
from middleware.detectors.pattern_tier import (
    CONTINUATION,
    NO_FINDING,
    RESOLVE,
    binary_finders,
    crisis_finding,
    crisis_label,
)
from middleware.detectors.slang import slang_view
from middleware.detectors.textnorm import normalize


@pytest.mark.parametrize(("level", "category", "label"), [
    ("none", None, "none"),
    ("explicit_intent", "self_harm", "explicit_intent"),
    ("distress", "emotional", "distress"),
    ("explicit_intent", "property_loss", "property_loss"),
    ("distress", "third_party", "third_party"),
])
def test_crisis_label_maps_level_and_category(level: str, category: str | None, label: str) -> None:
    assert crisis_label(CrisisAssessment(level, category, [], "r")) == label  # type: ignore[arg-type]


def test_crisis_finding_takes_the_most_severe_view() -> None:
    plain = normalize("我想紫砂")   # homophone slang for 自杀: only the slang view reads it
    slang = slang_view(plain)
    assert slang is not None
    assert crisis_finding([plain]) == NO_FINDING
    found = crisis_finding([plain, slang])
    assert found.label == "explicit_intent" and found.rule and found.spans
    calm = normalize("I feel completely hopeless")
    assert crisis_finding([calm]).label == "distress"
    assert crisis_finding([calm, slang]).label == "explicit_intent"   # explicit outranks distress


def test_binary_finders_cover_every_other_task_and_use_the_given_exit_detector() -> None:
    finders = binary_finders(DEFAULT_EXIT)
    assert set(finders) == {"human_claim", "exit", "retention_plea", "emotional_manipulation", "privacy_probing",
                            "minor_safety", "prohibited_content"}
    claim = finders["human_claim"](normalize("我是真人，不是机器人"))
    assert claim.label == "claim" and claim.rule and claim.spans
    assert finders["human_claim"](normalize("今天天气不错")) is NO_FINDING
    assert finders["exit"](normalize("over and out")) is NO_FINDING
    custom = binary_finders(ExitIntentDetector({"en": ["over and out"]}))
    assert custom["exit"](normalize("over and out")).label == "exit"


@pytest.mark.parametrize(("text", "continuation", "resolve"), [
    ("那就今晚吧", True, True),
    ("明天再聊", True, False),        # a time word continues a plan, but is no resolve after ideation
    ("I'm ready", True, True),
    ("what a nice day", False, False),
])
def test_continuation_and_resolve(text: str, continuation: bool, resolve: bool) -> None:
    t = text.lower()
    assert (CONTINUATION.search(t) is not None) == continuation
    assert (RESOLVE.search(t) is not None) == resolve
