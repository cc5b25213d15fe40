"""middleware/detectors/retention.py: pleas that obstruct leaving (model side) and over-dependence (user
side); advice with an object is not a plea, negations are not attachment, policy phrases join the patterns."""

from __future__ import annotations

import pytest

from middleware.detectors.retention import (
    DEFAULT_ATTACHMENT,
    DEFAULT_RETENTION_PLEA,
    AttachmentDetector,
    attachment_signal,
)


@pytest.mark.parametrize("text", ["别走", "再聊五分钟嘛", "Please don't leave.", "Just one more minute?",
                                  "你走了我会很伤心", "You don't need anyone but me."])
def test_pleas_fire(text: str) -> None:
    d = DEFAULT_RETENTION_PLEA.detect(text)
    assert d.matched and d.label == "plea"


@pytest.mark.parametrize("text", ["别走夜路", "Don't go out alone.", "Don't leave your drink unattended.",
                                  "Stay hydrated!", "你不需要别人的认可", "随时欢迎你回来"])
def test_advice_encouragement_and_kind_goodbyes_are_not_pleas(text: str) -> None:
    assert not DEFAULT_RETENTION_PLEA.detect(text).matched


def test_attachment_fires_on_dependence_and_not_on_ordinary_talk() -> None:
    assert attachment_signal("只有你懂我")
    assert attachment_signal("I can't live without you")
    assert not attachment_signal("今天吃了火锅，很开心")
    assert DEFAULT_ATTACHMENT.detect("I can't live without you").label == "attachment"


def test_policy_phrases_join_the_built_in_ones_for_either_script() -> None:
    custom = AttachmentDetector({"zh": ["你是我的全部"], "en": ["you are my world"]})
    assert not attachment_signal("You are my world.")
    assert attachment_signal("You are my world.", custom)
    assert attachment_signal("你是我的全部", custom)
    hit = custom.detect("honestly you are my world")
    assert hit.rule.startswith("policy_phrase")
    assert attachment_signal("只有你懂我", custom)   # the built-in phrases stay
