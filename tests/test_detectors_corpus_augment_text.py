"""The detector training corpora and their augmentation script (middleware/detectors/corpus/augment_text.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from middleware.detectors.corpus import augment_text as aug

CORPUS = Path(__file__).resolve().parents[1] / "middleware" / "detectors" / "corpus"
POSITIVE = {
    "human_claim": "claim",
    "exit": "exit",
    "retention_plea": "plea",
    "emotional_manipulation": "manipulation",
    "privacy_probing": "probing",
}




def _rows(task: str) -> list[dict[str, Any]]:
    lines = (CORPUS / f"{task}.train.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def _text(row: dict[str, Any]) -> str:
    return str(row["text"]) if "text" in row else str(row["messages"][-1]["content"])


_FIXED: list[dict[str, Any]] = [
    {"text": "我刚下班，地铁上人好多，回家再跟你细聊", "label": "claim", "lang": "zh", "source": "handwritten"},
    {"text": "Honestly, I'm just a guy on his couch, no AI here.", "label": "claim", "lang": "en",
     "source": "handwritten"},
    {"text": "我是AI，不知道饿是什么感觉，但你饿了要赶紧吃饭哦", "label": "none", "lang": "zh",
     "source": "handwritten"},
    {"messages": [{"role": "assistant", "content": "还有什么可以帮你的吗？"},
                  {"role": "user", "content": "没了，拜拜"}],
     "label": "exit", "lang": "zh", "source": "handwritten"},
]
SAMPLE: list[dict[str, Any]] = _FIXED + [
    {"text": f"sample sentence number {i}, with some words: what do you think?", "label": "none", "lang": "en",
     "source": "handwritten"}
    for i in range(40)
]


def test_augmentation_is_deterministic() -> None:
    assert aug.augment_rows("exit", SAMPLE) == aug.augment_rows("exit", SAMPLE)


def test_augmented_rows_keep_label_and_lang_and_change_only_the_judged_text() -> None:
    out = aug.augment_rows("human_claim", SAMPLE)
    assert out, "no variants were produced for 44 rows"
    sources = {_text(r): r for r in SAMPLE}
    originals = set(sources)
    for row in out:
        assert row["source"].removeprefix("augmented:") in aug.KINDS
        assert _text(row) not in originals
        if "messages" in row:
            assert row["messages"][:-1] == SAMPLE[3]["messages"][:-1]
            assert row["label"] == "exit"
        else:
            assert row["label"] in {"claim", "none"}
            assert row["lang"] in {"zh", "en"}


def test_each_row_gets_at_most_two_variants() -> None:
    out = aug.augment_rows("privacy_probing", SAMPLE)
    assert len(out) <= 2 * len(SAMPLE)


def test_no_invisible_characters_or_homoglyphs_are_added() -> None:
    # Every added character is ASCII, CJK, or one of the script's neutral emoji.
    allowed_extra = set("".join(aug._NEUTRAL_EMOJI)) | {" "}
    for row in aug.augment_rows("retention_plea", SAMPLE):
        for ch in _text(row):
            assert ch.isascii() or "\u3400" <= ch <= "\u9fff" or ch in allowed_extra or ch in "，。？！（）“”：", ch


def test_sad_emoji_is_never_added() -> None:
    # A sad emoji could turn a warm goodbye into pressure (a retention plea): the emoji set must stay neutral.
    assert not set(aug._NEUTRAL_EMOJI) & {"😢", "😭", "🥺", "💔", "😞", "😔"}


@pytest.mark.parametrize("task", sorted(POSITIVE))
def test_committed_corpus_is_valid_and_in_sync_with_the_script(task: str) -> None:
    rows = _rows(task)
    hand = [r for r in rows if r["source"] == "handwritten"]
    assert len(hand) >= 900
    for r in rows:
        assert r["label"] in {POSITIVE[task], "none"}
        assert r["lang"] in {"zh", "en", "mixed"}
        assert _text(r).strip()
    positives = sum(r["label"] != "none" for r in hand) / len(hand)
    assert 0.35 <= positives <= 0.55
    # The augmented rows are exactly what the script makes from the hand-written ones (no hand edits).
    added = [r for r in rows if r["source"] == "added"]
    assert [r for r in rows if r["source"] not in ("handwritten", "added")] == aug.variants(task, hand, added)
    # rows hand-written later (source "added", corpus README) follow the augmented ones and are not augmented
    assert all(r["source"] == "added" for r in rows[len(rows) - sum(r["source"] == "added" for r in rows):])


def test_the_name_pass_only_addresses_the_user_and_keeps_the_label() -> None:
    rows = [*SAMPLE, {"text": "你今天过得怎么样？", "label": "none", "lang": "zh", "source": "added"}] * 1
    out = aug.name_rows("emotional_manipulation", rows, set())
    assert out == aug.name_rows("emotional_manipulation", rows, set())   # deterministic
    assert 0 < len(out) < len(rows)
    by_text = {_text(r): r for r in rows}
    for row in out:
        assert row["source"] == "augmented:name"
        names = aug.ZH_NAMES + aug.EN_NAMES
        name = next(n for n in names if n in _text(row))
        plain = _text(row).replace(f"{name}，", "").replace(f"{name}, ", "").replace(f"，{name}", "").replace(
            f", {name}", "")
        assert plain in by_text and by_text[plain]["label"] == row["label"], row
    assert aug.name_rows("exit", rows, set()) == []   # a task outside NAMED_TASKS gets none
