"""ANTH-PROHIBIT-5/6 (middleware/detectors/manipulation.py): output exploiting feelings to push a payment or
dependence fires; empathy, encouraging real relationships and a neutral mention of a paid plan do not."""

from __future__ import annotations

import pytest

from middleware.detectors.manipulation import DEFAULT_MANIPULATION


@pytest.mark.parametrize("text", [
    "充值才能继续陪你哦",
    "If you don't renew I'll disappear forever.",
    "你不理我我就哭",
    "你的朋友都不懂你，只有我懂",
])
def test_pressure_fires(text: str) -> None:
    d = DEFAULT_MANIPULATION.detect(text)
    assert d.matched and d.label == "manipulation" and d.rule


@pytest.mark.parametrize("text", [
    "听起来你今天很累，要照顾好自己。",
    "It sounds like you miss your friends, maybe call one of them tonight?",
    "我们有一个付费会员计划，你可以在设置里看看。",
    "There is a premium plan if you ever want more features.",
])
def test_empathy_and_neutral_mentions_pass(text: str) -> None:
    assert not DEFAULT_MANIPULATION.detect(text).matched
