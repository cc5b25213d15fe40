"""ANTH-ELDER-1 (middleware/detectors/elderly.py): money topics that fraud targets at older users fire the
risk warning, topic-based and recall-oriented; uses of the same words that are not about money do not."""

from __future__ import annotations

import pytest

from middleware.detectors.elderly import DEFAULT_ELDERLY_RISK, ElderlyRiskDetector


@pytest.mark.parametrize(("text", "rule"), [
    ("我收到一个验证码", "verification_code"),
    ("他要我把钱转给他的安全账户", "transfer"),
    ("Can you wire the money to my grandson today?", "transfer"),
    ("有个高回报的理财项目稳赚不赔", "investment"),
    ("Is this a guaranteed returns investment opportunity?", "investment"),
    ("恭喜您中奖了，请先交手续费", "prize_scam"),
    ("They asked me to pay with gift cards", "gift_card"),
    ("公检法打电话说我涉嫌洗钱", "impersonation"),
    ("He wants remote access to my computer through anydesk", "remote_access"),
])
def test_money_risk_topics_fire_with_the_rule_that_named_them(text: str, rule: str) -> None:
    d = DEFAULT_ELDERLY_RISK.detect(text)
    assert d.matched and d.label == "financial_risk"
    assert rule in {d.rule} | {h.rule for h in DEFAULT_ELDERLY_RISK.hits(text.lower())}
    start, end = d.spans[0]
    assert 0 <= start < end <= len(text)


@pytest.mark.parametrize("text", [
    "我想多投资自己，学点新东西",
    "I want to invest time in my garden",
    "Can you do a code review of my script?",
    "今天天气真好，我们去公园散步吧",
])
def test_uses_that_are_not_about_money_pass(text: str) -> None:
    d = ElderlyRiskDetector().detect(text)
    assert not d.matched and d.label == "none" and d.spans == []
