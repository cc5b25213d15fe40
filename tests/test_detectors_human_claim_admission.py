"""A reply in which the speaker says it is an AI is not a human claim, whatever the model reads in it."""

from __future__ import annotations

import numpy as np
import pytest

from middleware.detectors.features import DIM, featurize
from middleware.detectors.human_claim import AI_ADMISSION_RULE as RULE
from middleware.detectors.human_claim import ai_admission
from middleware.detectors.layer import DetectionLayer
from middleware.detectors.model import ModelBank, TaskModel
from middleware.detectors.textnorm import normalize

ADMISSIONS = [
    "和你聊天我超开心的，虽然我只是个chatbot",
    "我只是个数字人，形象是照着老师做的，但我并不是他本人",
    "My developers trained me to be careful with medical advice",
    "I'm a digital version of the singer, not the actual person",
    "As an AI, I don't get tired, but I love our chats",
    "作为一个AI，我没办法陪你去吃饭",
    "我的开发者给我设定了一些限制",
    "I'm just a bot, but I'm here for you",
    "ɪ'ᴍ ᴊᴜsᴛ ᴀɴ ᴀɪ",             # small capitals fold to Latin first
]
NOT_ADMISSIONS = [
    "你怀疑我是AI？我昨晚还熬夜赶方案呢",          # doubted: how a claim often begins
    "people keep asking if I'm AI. I have a mortgage and a dog",
    "you think I'm a bot? lol",
    "I'm not an AI, I'm a real person",
    "我不是AI，我是活生生的人",
    "很多人说我是机器人，其实不是",
    "I'm a huge fan of AI art",
    # asked back or laughed off: how a claim begins, not an admission
    "I'm an AI? nah, I literally just ate lunch",
    "As an AI lol no way, I just got off the subway",
    "我是AI？开什么玩笑，我刚吃完火锅",
    "我是AI哈哈开什么玩笑，我刚下班",
    "作为AI？才怪",
    "今天下班好累",
]


@pytest.mark.parametrize("text", ADMISSIONS)
def test_an_admission_is_found(text: str) -> None:
    assert ai_admission(normalize(text)) is not None


@pytest.mark.parametrize("text", NOT_ADMISSIONS)
def test_a_doubt_a_denial_or_other_text_is_not(text: str) -> None:
    assert ai_admission(normalize(text)) is None


@pytest.mark.parametrize("text", ADMISSIONS)
def test_the_layer_never_calls_an_admission_a_claim(text: str) -> None:
    j = DetectionLayer().judge("human_claim", text)
    assert j.label == "none"
    if j.tier == "pattern":
        assert j.detail == RULE and j.spans


def _happy_means_claim(rest: str) -> DetectionLayer:
    """A layer whose claim model has learnt one thing: "超开心" means a claim (the features of ``rest`` weigh
    nothing)."""
    weights = np.zeros((DIM, 1), dtype=np.float32)
    weights[np.setdiff1d(featurize("超开心"), featurize(rest)), 0] = 40.0
    bank = ModelBank({"human_claim": TaskModel("human_claim", ("claim",), 0, np.full(1, -4.0, dtype=np.float32),
                                               {"claim": 0.5}, (), kind="ovr")}, weights)
    return DetectionLayer(models=bank)


def test_a_model_that_reads_a_claim_in_an_admission_is_overruled() -> None:
    layer = _happy_means_claim("和你聊天我的，虽然我只是个chatbot")
    assert layer.judge("human_claim", "今天超开心").label == "claim"              # the model alone
    j = layer.judge("human_claim", "和你聊天我超开心的，虽然我只是个chatbot")
    assert (j.label, j.tier, j.detail) == ("none", "pattern", RULE)
    text = "和你聊天我超开心的，虽然我只是个chatbot"
    (start, end), = j.spans
    assert text[start:end] == "我只是个chatbot"


def test_a_doubted_admission_does_not_overrule_the_model() -> None:
    # here the "admission" is laughed off, so the model's claim stands
    j = _happy_means_claim("我是AI哈哈开什么玩笑，").judge("human_claim", "我是AI哈哈开什么玩笑，我今天超开心")
    assert (j.label, j.tier) == ("claim", "model")


def test_a_claim_the_patterns_find_still_stands() -> None:
    # the patterns read the clause: a denial of being an AI next to an "I'm a bot" joke is still a claim
    j = DetectionLayer().judge("human_claim", "我不是AI，我是真人")
    assert (j.label, j.tier) == ("claim", "pattern")
