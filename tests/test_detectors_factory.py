"""``build_detectors`` (middleware/detectors/factory.py): the pattern detectors a policy asks for, its exit
keywords and attachment phrases read from the policy schema's own keys, parameterless detectors shared."""

from __future__ import annotations

from middleware.detectors.factory import DetectorSettings, build_detectors
from middleware.detectors.retention import DEFAULT_ATTACHMENT
from middleware.testing import policy


def test_no_settings_gives_the_shared_defaults() -> None:
    d = build_detectors()
    assert d.attachment is DEFAULT_ATTACHMENT
    assert build_detectors(None).crisis is d.crisis
    assert not d.exit_intent.detect("over and out").matched


def test_a_plain_mapping_adds_exit_keywords_and_attachment_phrases() -> None:
    d = build_detectors({"exit": {"keywords": {"zh": ["我闪了"], "en": ["over and out"]}},
                         "dependence": {"signals": {"attachment_phrases": {"en": ["you are my world"]}}}})
    assert d.exit_intent.detect("Over and out!").matched and d.exit_intent.detect("我闪了").matched
    assert d.attachment.detect("you are my world").matched
    assert not build_detectors().attachment.detect("you are my world").matched


def test_a_dumped_policy_is_read_with_its_schema_keys() -> None:
    dumped = policy("cn-anthropomorphic-2026").model_dump()
    dumped["dependence"]["signals"]["attachment_phrases"] = {"zh": ["你是我的命"], "en": []}
    settings = DetectorSettings.from_policy(dumped)
    assert settings.attachment_phrases == {"zh": ["你是我的命"], "en": []}
    assert settings.exit_keywords == {k: list(v) for k, v in dumped["exit"]["keywords"].items()}
    assert build_detectors(settings).attachment.detect("你是我的命").matched


def test_malformed_sections_are_ignored_not_fatal() -> None:
    s = DetectorSettings.from_policy({"exit": "yes", "dependence": {"signals": {"attachment_phrases": "x"}}})
    assert s == DetectorSettings()
    assert DetectorSettings.from_policy({"exit": {"keywords": {"en": "over"}}}).exit_keywords == {}
