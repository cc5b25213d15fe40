"""The policy model (middleware/policy/model.py): per-locale texts and strict sections."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from middleware.policy.model import Text, UsageRules


def test_a_text_picks_the_locale_then_the_language_then_the_default() -> None:
    text = Text({"zh-CN": "请注意休息", "en": "take a break"})
    assert text.pick("en-GB", "zh-CN") == "take a break"
    assert text.pick("zh-TW", "en") == "请注意休息"
    assert text.pick("fr", "zh-CN") == "请注意休息"
    assert Text("只有一种").pick("en", "zh-CN") == "只有一种"


def test_sections_refuse_unknown_keys_and_empty_texts() -> None:
    with pytest.raises(ValidationError):
        UsageRules.model_validate({"remind_every": "2h", "notice": "x", "cites": ["ANTH-TIME-1"], "remnd": 1})
    with pytest.raises(ValidationError):
        Text("")
