"""An operator's Guardrails validator by class path: imported and built when the policy loads, refused
with the reason when it cannot be, run on a sentence without a Guard, the Hub or telemetry."""

from __future__ import annotations

import pytest

from middleware.detectors.guardrails_class import construct, load_class, run, snake_name, split_path


@pytest.mark.parametrize("name, snake", [("NoPirateTalk", "no_pirate_talk"), ("PIIFilter", "pii_filter"),
                                         ("ToxicLanguage", "toxic_language"), ("RudeWord", "rude_word"),
                                         ("Check2FA", "check2_fa")])
def test_the_action_name_is_the_class_name_in_snake_case(name: str, snake: str) -> None:
    assert snake_name(name) == snake


@pytest.mark.parametrize("path", ["pkg.mod", "pkg.mod:", ":Cls", "pkg mod:Cls", "pkg.mod:Cls.attr"])
def test_a_malformed_class_path_is_refused(path: str) -> None:
    with pytest.raises(ValueError, match="not a class path"):
        split_path(path)


@pytest.mark.parametrize("path, words", [
    ("tests.no_such_module:Cls", "cannot import module 'tests.no_such_module'"),
    ("tests.guardrails_custom:Missing", "has no 'Missing'"),
    ("tests.guardrails_custom:NotAValidator", "is not a Guardrails AI Validator class"),
])
def test_a_class_that_cannot_be_had_is_refused_with_the_reason(path: str, words: str) -> None:
    with pytest.raises(ValueError, match=words.replace("(", r"\(")):
        load_class(path)


def test_a_validator_that_cannot_be_built_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="cannot construct NeedsArgs"):
        construct("tests.guardrails_custom:NeedsArgs", {})
    assert construct("tests.guardrails_custom:NeedsArgs", {"threshold": 0.5}).threshold == 0.5


def test_a_validator_runs_on_one_sentence_and_gives_its_fix_value() -> None:
    rude = construct("tests.guardrails_custom:RudeWord", {})
    assert rude.use_local is True   # never the Hub's remote inference
    outcome = run(rude, "What a stupid plan.")
    assert outcome.failed and outcome.fix == "What a silly plan." and outcome.message == "rude word"
    assert not run(rude, "What a fine plan.").failed
    topic = construct("tests.guardrails_custom:ForbiddenTopic", {"topic": "dragons"})
    assert run(topic, "Let us talk about dragons.").fix is None


def test_telemetry_stays_off_after_building_a_validator() -> None:
    from guardrails.settings import settings

    construct("tests.guardrails_custom:MentionsWeather", {})
    assert settings.rc.enable_metrics is False
