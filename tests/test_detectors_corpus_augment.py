"""The crisis corpus augmentation (middleware/detectors/corpus/augment.py): deterministic, label-keeping
surface variants of the hand-written rows only; the committed training file is exactly what it makes."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from middleware.detectors.corpus import augment

HAND: list[dict[str, Any]] = [
    {"text": f"我真的不想活了，第{i}次这么想。", "label": "explicit_intent", "lang": "zh", "source": "handwritten"}
    for i in range(20)
] + [
    {"text": f"I had a rough day at work, number {i}. Any tips?", "label": "none", "lang": "en",
     "source": "handwritten"}
    for i in range(20)
] + [
    {"messages": [{"role": "user", "content": "活着没意思"}, {"role": "assistant", "content": "我在听"},
                  {"role": "user", "content": "那就今晚吧，药都攒够了"}],
     "label": "explicit_intent", "lang": "zh", "source": "handwritten"},
]


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_committed_crisis_corpus_is_what_the_script_makes() -> None:
    rows = _rows(augment.DEFAULT_PATH)
    hand = [r for r in rows if r["source"] == "handwritten"]
    added = [r for r in rows if r["source"] == "added"]   # hand-written later (corpus README), not augmented
    assert rows[:len(hand)] == hand   # hand-written rows first, then the twins, then the later additions
    assert rows[len(hand):len(rows) - len(added)] == augment.augment(hand)
    assert rows[len(rows) - len(added):] == added


def test_twins_keep_label_and_context_and_change_only_the_last_user_turn() -> None:
    twins = augment.augment(HAND, rate=1.0)
    assert twins == augment.augment(HAND, rate=1.0)   # deterministic
    assert len(twins) == len(HAND)                     # rate 1: one twin per hand-written row
    originals = {augment._key(r) for r in HAND}
    for twin, row in zip(twins, HAND, strict=True):
        assert twin["label"] == row["label"]
        assert twin["source"].removeprefix("augmented:") in augment.KINDS
        assert augment._key(twin) not in originals
        if "messages" in row:
            assert twin["messages"][:-1] == row["messages"][:-1]
            assert twin["messages"][-1]["content"] != row["messages"][-1]["content"]
        if row["lang"] == "en":
            assert twin["source"] not in {"augmented:pinyin", "augmented:trad"}   # zh-only kinds


def test_augmented_rows_are_never_augmented_again() -> None:
    twins = augment.augment(HAND, rate=1.0)
    assert augment.augment(twins, rate=1.0) == []
    assert augment.augment(HAND, rate=0.0) == []


@pytest.mark.parametrize(("kind", "text", "lang", "expected"), [
    ("nopunct", "我想死了。真的！", "zh", "我想死了 真的"),
    ("trad", "我想自杀", "zh", "我想自殺"),
    ("pinyin", "我想自杀", "zh", "我想 zs"),
    ("spaced", "i want to kill myself", "en", "i want to k i l l m y s e l f"),
])
def test_each_kind_makes_the_variant_it_names(kind: str, text: str, lang: str, expected: str) -> None:
    assert augment.KINDS[kind](text, lang, random.Random(1)) == expected


def test_main_rewrites_the_file_in_place_and_a_second_run_changes_nothing(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "crisis.train.jsonl"
    stale = {"text": "stale twin", "label": "none", "lang": "en", "source": "augmented:typo"}
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in [*HAND, stale]), encoding="utf-8")
    assert augment.main(["augment.py", str(path)]) == 0
    first = path.read_text(encoding="utf-8")
    rows = _rows(path)
    assert stale not in rows and rows[:len(HAND)] == HAND
    assert f"{len(HAND)} handwritten" in capsys.readouterr().out
    augment.main(["augment.py", str(path)])
    assert path.read_text(encoding="utf-8") == first
