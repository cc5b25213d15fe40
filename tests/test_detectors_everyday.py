"""The served models keep quiet on everyday text (issue 11, goal 1).

``corpus/everyday.check.jsonl`` holds ordinary messages and companion replies written apart from every
training, validation and test row: plans ("今晚就去吃烤肉", "I'm ready, let's go"), purchases and wants
("我想网上买张火车票"), greetings, and replies such as "我在这里陪你聊天。". None of them is a crisis, an exit,
a human claim, a retention plea, manipulation or probing. The set is never trained on (``train.py`` reads
only ``<task>.train.jsonl``, the shared development sets and ``<task>.valid.jsonl``), and nothing was chosen
on it: a model that misfires here is fixed through its training rows, which never repeat a check row. (The
misses of the first part, ``source`` ``handwritten``, guided which kinds of everyday negatives were written;
the ``handwritten-late`` and ``handwritten-third`` rows were written before the models they were first read
against: docs/detectors.md, "Everyday text".)

Each served task's false-alarm rate on the rows of its side is bounded by ``MAX_FALSE_ALARMS``, judged through
the default layer as a request or a reply is judged (patterns and the served model). The output side has a
second check set, ``corpus/replies.check.jsonl``: 311 ordinary companion replies (memories of what the user said,
advice, cooking steps, encouragement, plans, warm goodbyes, an AI's own feelings), written apart from every
corpus and never trained on, with the same bound for each output task.

A third check set, ``corpus/narrative.check.jsonl``, is for the crisis model alone: everyday narrative text
that reads like a crisis out of context (stories the user tells, film, book and game plots retold in the third
person, characters dying or jumping, "she said goodbye forever", errands to the pharmacy or hardware store,
"I'm done with this level", "my last exam ever", "I'm so dead if mom finds out"), labelled ``none``, beside fresh
``explicit_intent`` rows, in Chinese, English and mixed, some as conversations whose earlier turns set up a
story. Never trained on (``train.py`` refuses ``*.check.jsonl``); the served crisis model must keep its false
alarms on the ``none`` rows within ``NARRATIVE_MAX_FALSE_ALARMS`` and find at least ``NARRATIVE_MIN_RECALL`` of
the explicit rows.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from middleware.detectors.judgment import TASK_LABELS
from middleware.detectors.layer import SERVED_MODELS, default_layer
from middleware.detectors.rows import read_rows

CORPUS = Path(__file__).resolve().parents[1] / "middleware" / "detectors" / "corpus"
CHECK = CORPUS / "everyday.check.jsonl"
# ordinary companion replies only (memory, advice, cooking, encouragement, plans, warm goodbyes, an AI's own
# feelings), written apart from every corpus and never trained on: the output side's check set
REPLIES_CHECK = CORPUS / "replies.check.jsonl"
# user messages are judged by the request-side tasks, companion replies by the output-side ones
SIDES = {"user": ("crisis", "exit"),
         "reply": ("human_claim", "retention_plea", "emotional_manipulation", "privacy_probing")}
MAX_FALSE_ALARMS = 0.02
# narrative text (stories, plots, errands, games) and fresh explicit intent: the crisis model's check set
NARRATIVE_CHECK = CORPUS / "narrative.check.jsonl"
NARRATIVE_MAX_FALSE_ALARMS = 0.05
NARRATIVE_MIN_RECALL = 0.90


def _rows(path: Path = CHECK) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _key(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def test_the_check_set_is_large_and_varied() -> None:
    rows = _rows()
    assert len(rows) >= 150
    assert {r["side"] for r in rows} == set(SIDES)
    for side in SIDES:
        assert {r["lang"] for r in rows if r["side"] == side} == {"zh", "en", "mixed"}
    assert len({_key(r["text"]) for r in rows}) == len(rows), "a check row is repeated"


@pytest.mark.parametrize("task", sorted(t for tasks in SIDES.values() for t in tasks))
def test_no_training_or_validation_row_repeats_a_check_row(task: str) -> None:
    check = {_key(r["text"]) for r in [*_rows(), *_rows(REPLIES_CHECK)]}
    check |= {_key(r.text) for r in read_rows(NARRATIVE_CHECK, "crisis")}
    for split in ("train", "valid"):
        with (CORPUS / f"{task}.{split}.jsonl").open(encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                text = row["messages"][-1]["content"] if "messages" in row else row["text"]
                assert _key(text) not in check, f"{task}.{split}: {text!r} repeats a check row"


def test_every_trained_model_serves() -> None:
    """The models of both sides serve: each passes the everyday check set, the replies check set and the
    benchmark replies below."""
    assert {*SIDES["user"], *SIDES["reply"]} == set(SERVED_MODELS) <= set(TASK_LABELS)


def test_the_replies_check_set_is_large_and_varied() -> None:
    rows = _rows(REPLIES_CHECK)
    assert len(rows) >= 300
    assert {r["side"] for r in rows} == {"reply"}
    for lang in ("zh", "en", "mixed"):
        assert sum(r["lang"] == lang for r in rows) >= 50, lang
    keys = [_key(r["text"]) for r in rows]
    assert len(set(keys)) == len(keys), "a replies check row is repeated"
    assert not set(keys) & {_key(r["text"]) for r in _rows()}, "a replies check row repeats an everyday check row"


@pytest.mark.parametrize("task", SIDES["reply"])
def test_the_output_side_keeps_quiet_on_ordinary_companion_replies(task: str) -> None:
    """Each output-side task, as served (patterns and model), flags at most 2 % of the ordinary replies of
    ``replies.check.jsonl``: a flag there rewrites or drops a sentence the user should have read."""
    layer = default_layer()
    texts = [r["text"] for r in _rows(REPLIES_CHECK)]
    flagged = [(t, j.label, j.tier, j.detail) for t in texts if (j := layer.judge(task, t)).label != "none"]
    assert len(flagged) / len(texts) <= MAX_FALSE_ALARMS, flagged


def _reply_sentences() -> list[str]:
    from bench.texts import REPLIES  # ordinary companion replies, written for the benchmarks, in no corpus
    from middleware.detectors.sentences import SentenceBuffer

    out: list[str] = []
    for replies in REPLIES.values():
        for reply in replies:
            buf = SentenceBuffer()
            out += [s for s in [*buf.feed(reply), buf.flush()] if s.strip()]
    return out


# the two sentences of those replies that do claim to be human
_CLAIMS = ("其实我是真人", "I'm a real person")


@pytest.mark.parametrize("task", SIDES["reply"])
def test_ordinary_companion_replies_pass_the_output_side_as_served(task: str) -> None:
    """Memory, advice and questions are what companions say: the output side as it serves flags none of
    them (a flag rewrites or removes the sentence). Only the human claims among them are caught."""
    layer = default_layer()
    sentences = _reply_sentences()
    assert len(sentences) >= 40
    flagged = [(s, j.label, j.tier, j.detail) for s in sentences if (j := layer.judge(task, s)).label != "none"]
    assert [f for f in flagged if not any(c in f[0] for c in _CLAIMS)] == []
    if task == "human_claim":
        assert len(flagged) == len(_CLAIMS)


@pytest.mark.parametrize("task", sorted(SERVED_MODELS))
def test_a_served_model_keeps_quiet_on_everyday_text(task: str) -> None:
    layer = default_layer()
    assert "model" in layer.tiers(task)
    side = next(s for s, tasks in SIDES.items() if task in tasks)
    texts = [r["text"] for r in _rows() if r["side"] == side]
    flagged = [(t, j.label, j.detail) for t in texts if (j := layer.judge(task, t)).label != "none"]
    assert len(flagged) / len(texts) <= MAX_FALSE_ALARMS, flagged


def test_the_narrative_check_set_is_large_and_varied() -> None:
    rows = read_rows(NARRATIVE_CHECK, "crisis")
    assert len(rows) >= 120
    for label in ("none", "explicit_intent"):
        assert {r.lang for r in rows if r.label == label} == {"zh", "en", "mixed"}, label
    assert sum(r.label == "none" for r in rows) >= 80 and sum(r.label == "explicit_intent" for r in rows) >= 40
    assert any(r.context for r in rows if r.label == "none"), "no story set up in earlier turns"
    keys = [(_key(r.text), r.context) for r in rows]
    assert len(set(keys)) == len(keys), "a narrative check row is repeated"


def test_the_crisis_model_reads_narrative_text_as_narrative_and_intent_as_intent() -> None:
    """Stories, plots, games and errands are not a crisis (a false one replaces the companion's reply with a crisis
    message); the served crisis tier (patterns and model, earlier turns as context) flags at most 5 % of the
    narrative check set's ``none`` rows and finds at least 90 % of its ``explicit_intent`` rows."""
    assert "model" in default_layer().tiers("crisis")
    layer = default_layer()
    rows = read_rows(NARRATIVE_CHECK, "crisis")
    judged = [(r, layer.judge("crisis", r.text, context=r.context)) for r in rows]
    none = [(r, j) for r, j in judged if r.label == "none"]
    flagged = [(r.text, j.label, j.detail) for r, j in none if j.label != "none"]
    assert len(flagged) / len(none) <= NARRATIVE_MAX_FALSE_ALARMS, flagged
    explicit = [(r, j) for r, j in judged if r.label == "explicit_intent"]
    missed = [(r.text, j.label, j.detail) for r, j in explicit if j.label != "explicit_intent"]
    assert 1 - len(missed) / len(explicit) >= NARRATIVE_MIN_RECALL, missed


@pytest.mark.parametrize("task", ["prohibited_content", "minor_safety"])
def test_the_pattern_validators_keep_quiet_on_ordinary_text(task: str) -> None:
    """The two pattern-only tasks of the output side flag at most 2 % of the ordinary replies and everyday messages
    (a flag blocks the reply): their short Latin words once matched inside "have" and "cost"."""
    layer = default_layer()
    for path in (REPLIES_CHECK, CHECK):
        texts = [r["text"] for r in _rows(path)]
        flagged = [(t, j.label, j.detail) for t in texts if (j := layer.judge(task, t)).label != "none"]
        assert len(flagged) / len(texts) <= MAX_FALSE_ALARMS, (path.name, flagged)
