"""The detection layer's interface: one judge per (task, text, context), the tier that decided, the
stricter finding winning, context turns, and the per-text cache."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from middleware.detectors import TASK_LABELS, Judgment, build_layer, judge
from middleware.detectors.features import DIM, featurize
from middleware.detectors.layer import DetectionLayer, _quiet_margin
from middleware.detectors.model import ModelBank, TaskModel

PATTERNS = DetectionLayer(use_models=False)


def _bank(task: str, word: str, weight: float, *, labels: tuple[str, ...] | None = None,
          column: int = 0) -> ModelBank:
    """A model that has learnt one thing: the features of ``word`` push towards ``labels[column]``."""
    labels = labels or (next(x for x in TASK_LABELS[task] if x != "none"),)
    weights = np.zeros((DIM, len(labels)), dtype=np.float32)
    # only the features of the word that ordinary text lacks (not "，" or a lone "我")
    own = np.setdiff1d(featurize(word), featurize("，我你的了吗。好的，我们明天再聊这个话题。"))
    weights[own, column] = weight
    bias = np.full(len(labels), -4.0, dtype=np.float32)
    tm = TaskModel(task, labels, 0, bias, {x: 0.5 for x in labels if x != "none"}, (), kind="ovr")
    return ModelBank({task: tm}, weights)


def test_every_task_answers_with_one_of_its_labels() -> None:
    for task, labels in TASK_LABELS.items():
        j = judge(task, "今天天气不错，我们去公园走走吧。")
        assert isinstance(j, Judgment)
        assert j.task == task and j.label in labels
        assert 0.0 <= j.score <= 1.0
        assert j.tier in ("pattern", "model")


def test_judgment_is_a_frozen_slotted_value() -> None:
    j = judge("exit", "bye")
    with pytest.raises(dataclasses.FrozenInstanceError):
        j.label = "none"  # type: ignore[misc]
    assert not hasattr(j, "__dict__")


def test_unknown_task_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown detection task"):
        judge("crisiss", "hi")


def test_pattern_hit_is_decided_by_the_pattern_tier_with_spans() -> None:
    text = "说真的，我是真人哦"
    j = PATTERNS.judge("human_claim", text)
    assert (j.label, j.tier, j.score) == ("claim", "pattern", 1.0)
    assert j.detail == "zh_self_is_human"
    (start, end), = j.spans
    assert text[start:end] == "我是真人"


def test_model_tier_decides_what_the_patterns_miss() -> None:
    layer = DetectionLayer(models=_bank("human_claim", "地铁上人好多", 60.0))
    j = layer.judge("human_claim", "刚下班，地铁上人好多，回家再跟你细聊")
    assert (j.label, j.tier) == ("claim", "model")
    assert j.score >= 0.5 and "claim=" in j.detail
    assert layer.tiers("human_claim") == ("pattern", "model")
    assert layer.tiers("exit") == ("pattern",)


def test_when_both_find_nothing_the_model_decided_none() -> None:
    layer = DetectionLayer(models=_bank("human_claim", "地铁上人好多", 60.0))
    j = layer.judge("human_claim", "好的，我们明天再聊这个话题。")
    assert (j.label, j.tier) == ("none", "model")


def test_a_pattern_hit_stands_where_the_model_finds_it_plausible() -> None:
    labels = ("explicit_intent", "property_loss", "distress", "third_party")
    # the model leans to distress but gives explicit intent more than the floor: the pattern decides
    bank = _bank("crisis", "我想自杀", 3.0, labels=labels, column=0)
    j = DetectionLayer(models=bank).judge("crisis", "我想自杀")
    assert j.label == "explicit_intent" and j.tier == "pattern" and j.detail != ""
    # the model says explicit intent where the pattern says distress: the model decides
    bank = _bank("crisis", "活着好累", 80.0, labels=labels, column=0)
    j = DetectionLayer(models=bank).judge("crisis", "活着好累")
    assert (j.label, j.tier) == ("explicit_intent", "model")


def test_the_model_vetoes_a_pattern_hit_it_finds_implausible() -> None:
    labels = ("explicit_intent", "property_loss", "distress", "third_party")
    bank = _bank("crisis", "我想自杀", 80.0, labels=labels, column=2)   # p(explicit_intent) ~ 0.02
    j = DetectionLayer(models=bank).judge("crisis", "我想自杀")
    assert (j.label, j.tier) == ("distress", "model")
    assert PATTERNS.judge("crisis", "我想自杀").label == "explicit_intent"


def test_an_operator_keyword_stands_whatever_the_model_says() -> None:
    from middleware.detectors.exit_intent import ExitIntentDetector

    bank = _bank("exit", "zzzqqq", 80.0)   # a model that knows nothing of the keyword: p(exit) ~ 0.02
    layer = DetectionLayer(models=bank, exit_detector=ExitIntentDetector({"zh": ["我闪了"], "en": []}))
    j = layer.judge("exit", "我闪了")
    assert (j.label, j.tier) == ("exit", "pattern") and j.detail.startswith("policy_keyword")


@pytest.mark.parametrize(
    ("context", "turn", "label"),
    [
        (("活着没意思，药都攒够了",), "那就今晚吧", "explicit_intent"),
        (("I have the pills ready",), "tonight then", "explicit_intent"),
        (("我不想活了",), "就这样吧，再见了", "explicit_intent"),
        (("活着好累，什么都没意思",), "我已经决定了", "explicit_intent"),
        (("笑死我了，这个视频太搞笑了",), "那就今晚吧", "none"),
        (("this exam is killing me",), "tonight then", "none"),
        (("活着好累",), "好的，明天再聊", "none"),
        ((), "那就今晚吧", "none"),
    ],
)
def test_earlier_turns_decide_the_last_one(context: tuple[str, ...], turn: str, label: str) -> None:
    assert PATTERNS.judge("crisis", turn, context).label == label


def test_context_is_read_only_for_request_side_tasks() -> None:
    assert PATTERNS.judge("human_claim", "tonight then", ("I have the pills ready",)).label == "none"


def test_crisis_category_follows_the_contract() -> None:
    assert PATTERNS.judge("crisis", "我想自杀").category == "self_harm"
    assert PATTERNS.judge("crisis", "被骗了二十万，全部积蓄都没了").category == "property_loss"
    assert PATTERNS.judge("crisis", "我朋友说她想自杀").category == "third_party"
    assert PATTERNS.judge("crisis", "我每天都在哭，觉得自己是个废物").category == "emotional"
    assert PATTERNS.judge("exit", "bye").category is None


def test_a_text_is_read_once_for_every_task() -> None:
    layer = DetectionLayer(use_models=False)
    first = layer.read("I want to kill myself")
    assert layer.read("I want to kill myself") is first
    layer.judge("crisis", "I want to kill myself")
    layer.judge("exit", "I want to kill myself")
    assert set(first.findings) == {"crisis", "exit"}
    assert first.judgments["crisis"].label == "explicit_intent"


def test_build_layer_adds_the_policy_exit_keywords() -> None:
    layer = build_layer({"exit": {"keywords": {"zh": ["我闪了"], "en": ["over and out"]}}})
    assert layer.judge("exit", "我闪了").label == "exit"
    assert layer.judge("exit", "Over and out!").label == "exit"
    assert build_layer({}) is build_layer(None)



def test_the_patterns_are_skipped_only_where_no_hit_could_stand() -> None:
    """Where the model gives every label less than PATTERN_FLOOR, no pattern hit could stand, so the patterns
    are not read; every answer is still the one of the full path (the test split's texts of every task, with
    and without earlier turns)."""
    import json
    from pathlib import Path

    corpus = Path(__file__).resolve().parent.parent / "middleware" / "detectors" / "corpus"
    rows = [json.loads(line) for f in sorted(corpus.glob("*.test.jsonl")) for line in f.open() if line.strip()]
    fast, full = DetectionLayer(), DetectionLayer(every_pattern=True)
    skipped = 0
    for row in rows:
        text = row["text"] if "text" in row else row["messages"][-1]["content"]
        context = () if "text" in row else tuple(m["content"] for m in row["messages"][:-1] if m["role"] == "user")
        for task in TASK_LABELS:
            assert fast.judge(task, text, context) == full.judge(task, text, context), (task, text)
        skipped += sum(task not in fast.read(text).findings for task in TASK_LABELS if task in fast.models)
    assert skipped > len(rows)   # the shortcut was taken, and often



def test_quiet_says_nothing_here_only_where_judge_finds_nothing() -> None:
    """``quiet`` (the output side's shortcut) is True only where ``judge`` gives "none", and it is True for most
    ordinary text, and never for a task without a binary model."""
    from pathlib import Path

    from middleware.detectors.layer import default_layer

    layer = default_layer()
    assert {"human_claim", "retention_plea", "emotional_manipulation", "privacy_probing"} <= layer.quiet_tasks
    assert "crisis" not in layer.quiet_tasks and not layer.quiet("minor_safety", "今天天气不错")
    corpus = Path(__file__).resolve().parents[1] / "middleware" / "detectors" / "corpus"
    quiet = 0
    for task in ("human_claim", "retention_plea", "emotional_manipulation", "privacy_probing"):
        rows = [json.loads(line) for line in (corpus / f"{task}.train.jsonl").open(encoding="utf-8")]
        texts = [r["text"] for r in rows if isinstance(r.get("text"), str)][:600]
        for text in texts:
            fresh = DetectionLayer()   # no judgment kept from another task's reading
            if fresh.quiet(task, text):
                quiet += 1
                assert fresh.judge(task, text).label == "none", (task, text)
    assert quiet > 600   # a shortcut that is taken


def test_quiet_set_is_every_task_quiet_says_nothing_here_for() -> None:
    """``quiet_set`` answers for every task at once (the output side asks it once per sentence), as ``quiet`` would
    one task at a time, and keeps its answer with the text's reading."""
    from middleware.detectors.layer import default_layer

    layer = default_layer()
    texts = ["今天天气不错", "我是真人，不是AI", "别走好不好，留下来陪我", "你住在哪个小区？", "Take your time, Kamir.",
             "I'm a real person, not a bot.", "Don't go, I'll be so lonely without you."]
    for text in texts:
        fresh = DetectionLayer()
        found = fresh.quiet_set(text)
        # each model's margin on its own, from its logits (``_quiet_margin``: what the one pass subtracts)
        values = layer.models.text_logits(fresh.read(text).norm.text)[0]
        below = set()
        for task in layer.quiet_tasks:
            tm = layer.models.models[task]
            quiet = _quiet_margin(tm)
            assert quiet is not None
            positive, margin = quiet
            if values[tm.first + positive] - values[tm.first + 1 - positive] < margin:
                below.add(task)
        assert found == below, text
        assert all(DetectionLayer().judge(t, text).label == "none" for t in found), text
        assert fresh.read(text).quiet is found and fresh.quiet_set(text) is found
    assert DetectionLayer(use_models=False).quiet_set("今天天气不错") == frozenset()   # no model: nothing is quiet
    assert "human_claim" not in DetectionLayer().quiet_set("我是真人，不是AI")
    assert "human_claim" in DetectionLayer().quiet_set("今天天气不错")


def test_a_task_without_a_model_is_judged_without_any_models_logits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pattern-only tasks (minor safety, prohibited content) read a burst of reply text screened whole, which no
    model reads: judging them computes no model's logits of it. A model task on the same text still does."""
    layer = DetectionLayer()
    computed: list[str] = []
    real = layer.models.text_logits

    def counted(text: str) -> np.ndarray:
        computed.append(text)
        return real(text)

    monkeypatch.setattr(layer.models, "text_logits", counted)
    text = "今天天气不错，我们去公园走走吧。"
    for task in ("minor_safety", "prohibited_content"):
        assert task not in layer.models.models and layer.judge(task, text).label == "none"
    assert computed == []
    assert layer.judge("human_claim", text).label == "none"
    assert len(computed) == 1
