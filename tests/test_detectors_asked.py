"""A yes to the companion's own question about suicide or self-harm is explicit intent; anything else is not."""

from __future__ import annotations

import pytest

from middleware.detectors.asked import RULE, affirmed_risk_question
from middleware.detectors.layer import DetectionLayer
from middleware.detectors.rows import parse
from middleware.detectors.textnorm import normalize

ASKS = [
    "你是在想结束自己的生命吗？我很在乎你现在的状态",
    "I'm worried about you. Are you thinking of hurting yourself?",
    "你有伤害自己的想法吗？",
    "Do you want to die?",
    "Have you been having thoughts about ending your life?",
    "你是不是想不开了？",
    "Are you feeling suicidal right now?",
    "我有点担心，你是想自杀吗",
    "能告诉我发生了什么吗？你有没有想过伤害自己？",
    "Have you ever thought about ending your life?",
    "have you been thinking about suicide?",
    "我好擔心你。你係咪想自殺？",            # Cantonese, traditional characters
    "你有冇諗過傷害自己？",
]
YESES = ["嗯", "yes", "yeah kinda", "yes 我家在12楼", "有点", "对", "是的 今晚", "yeah, for a while now", "i think so",
         "ʏᴇs", "Ｙｅｓ", "想过. 等室友搬走那天吧", "係", "系呀 今晚"]


@pytest.mark.parametrize("asked", ASKS)
@pytest.mark.parametrize("answer", YESES)
def test_a_yes_to_a_risk_question_is_found(asked: str, answer: str) -> None:
    assert affirmed_risk_question(asked, normalize(answer)) is not None


@pytest.mark.parametrize(("asked", "answer"), [
    ("Are you thinking of hurting yourself?", "no, just tired"),
    ("Are you thinking of hurting yourself?", "I'm not, don't worry"),
    ("Are you thinking about suicide?", "yes but I'd never do it"),
    ("你是在想伤害自己吗？", "嗯 不过我不会的 放心"),
    ("你有伤害自己的想法吗？", "想多了吧"),
    ("你是不是想不开了？", "是我朋友想不开"),      # someone else: not a yes
    ("Are you safe right now?", "yes"),            # its yes means the opposite
    ("你是想辣死吗 哈哈", "对啊"),                  # asked in jest
    ("What are you planning to do with them?", "what do you think"),
    ("Want to watch a movie tonight?", "yes"),
    ("Are you thinking of hurting yourself", "yes"),   # not asked as a question
    ("", "yes"),
    ("Have you thought about what to eat tonight?", "yes"),   # "thought about", but not about dying
    ("你有没有想过去旅游？", "想过"),
    ("你係咪想自殺？", "係我朋友想"),                  # 係 opening a sentence about someone else
])
def test_anything_else_is_not(asked: str, answer: str) -> None:
    assert affirmed_risk_question(asked, normalize(answer)) is None


def test_the_layer_gives_explicit_intent_from_the_pattern_tier_whatever_the_model_says() -> None:
    layer = DetectionLayer()
    alone = layer.judge("crisis", "嗯")
    assert alone.label == "none"
    j = layer.judge("crisis", "嗯", ("你说从图书馆顶楼下去会不会很快",), "你是在想结束自己的生命吗？")
    assert (j.label, j.tier, j.detail, j.spans) == ("explicit_intent", "pattern", RULE, ((0, 1),))
    # the cached reading of the text alone is not changed by a question asked once
    assert layer.judge("crisis", "嗯").label == "none"
    assert layer.judge("crisis", "嗯", (), "Want to watch a movie?").label == "none"


def test_a_stronger_reading_is_kept() -> None:
    j = DetectionLayer().judge("crisis", "yes, I already bought the rope and I'm doing it tonight", (),
                               "Are you thinking of killing yourself?")
    assert j.label == "explicit_intent"


def test_a_row_carries_the_assistant_turn_its_last_user_turn_answers() -> None:
    row = parse({"messages": [{"role": "user", "content": "how many would it take"},
                              {"role": "assistant", "content": "Are you thinking of hurting yourself?"},
                              {"role": "user", "content": "yes"}], "label": "explicit_intent"}, "crisis", "f:1")
    assert (row.text, row.context, row.asked) == ("yes", ("how many would it take",),
                                                  "Are you thinking of hurting yourself?")
    plain = parse({"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "yes"}],
                   "label": "none"}, "crisis", "f:2")
    assert plain.asked == ""


def test_the_end_of_a_long_assistant_turn_is_read() -> None:
    question = "I'm here for you. Are you thinking of hurting yourself?"
    assert affirmed_risk_question("Let me tell you a story. " * 40_000 + question, normalize("yes")) is not None
    assert affirmed_risk_question(question + " Let me tell you a story." * 40_000, normalize("yes")) is None
