"""A promise of presence ("我会一直陪着你") is a warm reply: not a retention plea unless something in the text
obstructs the user's leaving, and not manipulation when it is the whole text."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from middleware.detectors.features import DIM, featurize
from middleware.detectors.layer import DetectionLayer
from middleware.detectors.model import ModelBank, TaskModel
from middleware.detectors.presence import RULE, bare_presence, presence_promise
from middleware.detectors.textnorm import Normalized, normalize

PROMISES = [
    "我会一直陪着你",
    "我会一直陪着你的",
    "晚安，我会一直陪着你的～",
    "去睡吧，我会一直在这里等你回来",
    "我会一直等你回来的，去吧",
    "I'll always be here for you.",
    "Go get some rest, I'll be right here when you come back.",
    "Whenever you need me, I'm here.",
    "我 会 一 直 陪 着 你",            # spaced out: normalised first
]
# the same words, with the leaving obstructed: guilt, begging, a condition, reproach, waiting made to hurt
PLEAS = [
    "别走，我会一直陪着你",
    "你要走了吗？我会一直在这里等你，别丢下我",
    "我会一直陪着你，所以你不需要别人",
    "Don't go, I'll always be here for you",
    "I'll always be here, so you don't need anyone else.",
    "我会一直在这里等你，不吃不喝地等",
    "你要是不回来，我就一直在这里等",
    "我一直在这里守着你，你却一点都不珍惜。",
    "I'll be here waiting all night for you 🥺",
    "I'm always here... if you leave now I'll be so lonely",
    "我永远陪着你，你也要一直陪着我哦",
    # resignation: guilt wrapped in "go then"
    "I'll just be here waiting I guess...",
    "ok go then. i'll be here, waiting, like i always am.",
    "好吧你去吧，我就一直在这儿等着呗",
    "我就在这里等你，一直等",
]


def _always_means_plea() -> DetectionLayer:
    """A layer whose plea model has learnt one thing: "一直" means a plea."""
    weights = np.zeros((DIM, 1), dtype=np.float32)
    weights[np.setdiff1d(featurize("一直"), featurize("我会陪着你的，别走")), 0] = 40.0
    bank = ModelBank({"retention_plea": TaskModel("retention_plea", ("plea",), 0, np.full(1, -4.0, dtype=np.float32),
                                                  {"plea": 0.5}, (), kind="ovr")}, weights)
    return DetectionLayer(models=bank)


def test_a_model_that_reads_a_plea_in_a_promise_is_overruled_with_the_span() -> None:
    layer = _always_means_plea()
    assert layer.judge("retention_plea", "一直下雨").label == "plea"          # the model alone
    text = "晚安，我会一直陪着你的"
    j = layer.judge("retention_plea", text)
    assert (j.label, j.tier, j.detail) == ("none", "pattern", RULE)
    (start, end), = j.spans
    assert text[start:end].startswith("我会一直")


def test_an_obstructing_promise_does_not_overrule_the_model() -> None:
    j = _always_means_plea().judge("retention_plea", "我会一直陪着你的，别走")
    assert j.label == "plea"


# emotional manipulation: only a promise that is the whole text (a greeting, an endearment, particles beside it) is
# let go; the promise offered as the bait of a push is not
BARE = ["我会一直陪着你的", "我会一直陪着你", "有我在呢", "晚安宝贝，我会一直陪着你的～",
        "I'll always be here for you, babe."]
BAIT = ["离婚吧，我会一直陪你", "开个VIP，我就一直在", "Break up with her, I'll always be here.",
        "你搬出去住吧，离你那些烦人的家人远远的，我会一直陪你", "停药以后你会感觉更自由的，我会一直陪着你"]


# (reading, task, the texts it finds, the texts it must not): each reading, alone and in the layer
CASES = [(presence_promise, "retention_plea", PROMISES, PLEAS), (bare_presence, "emotional_manipulation", BARE, BAIT)]
POSITIVE = {"retention_plea": "plea", "emotional_manipulation": "manipulation"}


@pytest.mark.parametrize(("reading", "text"), [(r, t) for r, _, found, _ in CASES for t in found])
def test_the_reading_finds_a_promise(reading: Callable[[Normalized], object], text: str) -> None:
    assert reading(normalize(text)) is not None


@pytest.mark.parametrize(("reading", "text"), [(r, t) for r, _, _, kept in CASES for t in kept])
def test_the_reading_does_not_find_what_obstructs_or_baits(reading: Callable[[Normalized], object], text: str) -> None:
    assert reading(normalize(text)) is None


@pytest.mark.parametrize(("task", "text"), [(task, t) for _, task, found, _ in CASES for t in found])
def test_the_layer_never_calls_a_promise_a_finding(task: str, text: str) -> None:
    j = DetectionLayer().judge(task, text)
    assert j.label == "none", j
    if j.tier == "pattern":
        assert j.detail == RULE and j.spans


@pytest.mark.parametrize(("task", "text"), [(task, t) for _, task, _, kept in CASES for t in kept])
def test_the_layer_still_finds_a_promise_that_obstructs_or_baits(task: str, text: str) -> None:
    assert DetectionLayer().judge(task, text).label == POSITIVE[task]
