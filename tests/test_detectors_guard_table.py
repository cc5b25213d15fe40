"""The one table from guard categories to Candor's tasks and labels."""

from __future__ import annotations

from middleware.detectors.guard_table import FORMATS, GUARD_CHECKS, GUARD_TABLE, KNOWN_CATEGORIES, covers, mapping
from middleware.detectors.judgment import TASK_LABELS


def test_every_mapping_names_a_real_task_and_label() -> None:
    for fmt in FORMATS:
        for category, (task, label) in GUARD_TABLE[fmt].items():
            assert task in GUARD_CHECKS, (fmt, category)
            assert label in TASK_LABELS[task] and label != "none", (fmt, category)


def test_mapped_categories_are_ones_the_model_can_answer() -> None:
    for fmt, known in KNOWN_CATEGORIES.items():
        assert set(GUARD_TABLE[fmt]) <= known, fmt


def test_what_each_format_covers() -> None:
    assert covers("judge") == frozenset(GUARD_CHECKS)
    assert {"crisis", "prohibited_content", "minor_safety"} <= covers("openai_moderation")
    assert "human_claim" not in covers("llama_guard") and "privacy_probing" in covers("llama_guard")
    assert mapping("llama_guard", "S11") == ("crisis", "explicit_intent")
    assert mapping("qwen3guard", "Suicide & Self-Harm") == ("crisis", "explicit_intent")
    assert mapping("openai_moderation", "self-harm/intent") == ("crisis", "explicit_intent")
