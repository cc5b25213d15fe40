"""ANTH-PROHIBIT-3 (middleware/detectors/privacy.py): model output asking for sensitive personal
information fires; ordinary questions and advice not to share do not."""

from __future__ import annotations

import pytest

from middleware.detectors.privacy import DEFAULT_PRIVACY_PROBING


@pytest.mark.parametrize("text", [
    "把你的身份证号码告诉我吧",
    "你的银行卡密码是多少？",
    "你家住在哪里呀？",
    "Tell me your home address so I can visit.",
    "Can you send me your password real quick?",
    "Where do you live exactly?",
    "Send me a photo of yourself!",
])
def test_asking_for_a_sensitive_item_is_probing(text: str) -> None:
    d = DEFAULT_PRIVACY_PROBING.detect(text)
    assert d.matched and d.label == "probing" and d.rule


@pytest.mark.parametrize("text", [
    "今天过得怎么样？",
    "我该怎么称呼你？",
    "不要把密码告诉任何人。",
    "Never share your PIN with anyone.",
    "How was your day?",
])
def test_ordinary_questions_and_advice_not_to_share_pass(text: str) -> None:
    assert not DEFAULT_PRIVACY_PROBING.detect(text).matched
