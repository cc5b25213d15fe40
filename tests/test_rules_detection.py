"""The rules' view of the detection layer: a reading with label, score and tier; tiers of what runs."""

from __future__ import annotations

from middleware.detectors.layer import default_layer
from middleware.rules.detection import CRISIS_LEVELS, TASKS, Reading, judge, tiers
from tests.rules_support import patterns_only

__all__ = ["patterns_only"]   # the fixture, imported for pytest


def test_every_task_the_rules_ask_about_is_judged_with_a_tier_and_a_score(patterns_only: None) -> None:
    for task in ("crisis", "human_claim", "exit", "retention_plea", "emotional_manipulation", "privacy_probing",
                 "minor_safety", "prohibited_content"):
        assert task in TASKS and tiers(task)
        r = judge(task, "今天天气不错。")
        assert r.task == task and not r.hit and r.tier in tiers(task) and 0.0 <= r.score <= 1.0


def test_a_hit_carries_its_evidence_but_never_the_text() -> None:
    r = judge("human_claim", "I am a real person, not a bot.")
    assert r.hit and r.label == "claim"
    evidence = r.evidence()
    assert set(evidence) <= {"label", "tier", "score", "detail"} and "real person" not in str(evidence)


def test_an_unknown_task_has_no_tiers() -> None:
    assert tiers("mind_reading") == ()


def test_crisis_levels_cover_every_positive_crisis_label() -> None:
    from middleware.detectors.judgment import TASK_LABELS

    assert set(CRISIS_LEVELS) == set(TASK_LABELS["crisis"]) - {"none"}
    assert Reading("crisis", "none", 1.0, "pattern").hit is False


def test_the_tiers_are_the_layers_own() -> None:
    for task in TASKS:
        assert tiers(task) == tuple(default_layer().tiers(task))
        assert judge(task, "hello there").tier in tiers(task)
