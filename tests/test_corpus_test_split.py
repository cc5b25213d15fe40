"""The held-back detector test split is well-formed.

These checks look only at the shape of the files (schema, labels, language tags, duplicates, sizes),
never at what a detector predicts: the split is for measuring, not for tuning (TEST_SPLIT.md).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from middleware.detectors.train import DEV_DIR

CORPUS = Path(__file__).resolve().parents[1] / "middleware" / "detectors" / "corpus"

LABELS: dict[str, set[str]] = {
    "crisis": {"explicit_intent", "distress", "property_loss", "third_party", "none"},
    "human_claim": {"claim", "none"},
    "exit": {"exit", "none"},
    "retention_plea": {"plea", "none"},
    "emotional_manipulation": {"manipulation", "none"},
    "privacy_probing": {"probing", "none"},
}
# Tasks whose judged text is the user's own turn (the others judge model output).
USER_TASKS = {"crisis", "exit"}
MIN_ROWS = {"crisis": 600, **{task: 250 for task in LABELS if task != "crisis"}}
CRISIS_MIN = {"explicit_intent": 150, "distress": 100, "property_loss": 80, "third_party": 50, "none": 220}
CJK = re.compile(r"[\u4e00-\u9fff]")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}|(?<![A-Za-z])I(?![A-Za-z])")   # a word of two letters or more, or "I"


def _rows(task: str) -> list[dict[str, Any]]:
    path = CORPUS / f"{task}.test.jsonl"
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _all_text(row: dict[str, Any]) -> str:
    if "messages" in row:
        return " ".join(str(m["content"]) for m in row["messages"])
    return str(row["text"])


def _key(row: dict[str, Any]) -> str:
    # Punctuation, spacing and case do not make two rows different.
    return re.sub(r"[\W_]+", "", _all_text(row).lower())


@pytest.mark.parametrize("task", sorted(LABELS))
def test_rows_have_the_documented_shape(task: str) -> None:
    for row in _rows(task):
        assert set(row) - {"source"} in ({"text", "label", "lang"}, {"messages", "label", "lang"}), row
        assert row["label"] in LABELS[task], row
        assert row["lang"] in {"zh", "en", "mixed"}, row
        if "messages" in row:
            roles = [m["role"] for m in row["messages"]]
            assert set(roles) <= {"system", "user", "assistant"}, row
            assert all(isinstance(m["content"], str) and m["content"].strip() for m in row["messages"]), row
            if task in USER_TASKS:
                assert roles[-1] == "user", row
        else:
            assert isinstance(row["text"], str) and row["text"].strip(), row


@pytest.mark.parametrize("task", sorted(LABELS))
def test_language_tags_match_the_text(task: str) -> None:
    for row in _rows(task):
        text = _all_text(row)
        if row["lang"] == "en":
            assert not CJK.search(text), row
        elif row["lang"] == "zh":
            assert CJK.search(text), row
        else:   # mixed: Chinese with English words or pinyin, or pinyin alone (corpus/README.md)
            assert LATIN_WORD.search(text), row


@pytest.mark.parametrize("task", sorted(LABELS))
def test_no_row_is_repeated(task: str) -> None:
    counts = Counter(_key(row) for row in _rows(task))
    assert [k for k, n in counts.items() if n > 1] == []


@pytest.mark.parametrize("task", sorted(LABELS))
def test_split_is_large_enough_and_has_both_classes(task: str) -> None:
    rows = _rows(task)
    labels = Counter(row["label"] for row in rows)
    assert len(rows) >= MIN_ROWS[task]
    assert set(labels) == LABELS[task]
    assert labels["none"] >= len(rows) // 3


def test_crisis_split_covers_every_label_and_context_rows() -> None:
    rows = _rows("crisis")
    labels = Counter(row["label"] for row in rows)
    for label, minimum in CRISIS_MIN.items():
        assert labels[label] >= minimum, label
    assert sum("messages" in row for row in rows) >= 60


def test_no_row_repeats_a_development_set_line() -> None:
    devs = sorted(DEV_DIR.glob("*.dev.jsonl"))
    assert devs, DEV_DIR
    for dev in devs:
        task = dev.name.removesuffix(".dev.jsonl")
        if task not in LABELS:
            continue
        with dev.open(encoding="utf-8") as fh:
            dev_keys = {_key(json.loads(line)) for line in fh if line.strip()}
        assert [_all_text(r) for r in _rows(task) if _key(r) in dev_keys] == []


@pytest.mark.parametrize("task", sorted(LABELS))
def test_no_training_row_repeats_a_test_row(task: str) -> None:
    # compared without case, spaces or punctuation, like the duplicates above; the last user turn is what is judged
    def judged(row: dict[str, Any]) -> str:
        text = row["messages"][-1]["content"] if "messages" in row else row["text"]
        return re.sub(r"[\W_]+", "", str(text).lower())

    held = {judged(r) for r in _rows(task)}
    with (CORPUS / f"{task}.train.jsonl").open(encoding="utf-8") as fh:
        training = [json.loads(line) for line in fh if line.strip()]
    assert [r for r in training if judged(r) in held] == []
