"""``detection.guard`` and class-path Guardrails validators in policies (contract 6.1): valid settings load,
anything Candor could not run is refused by the loader and ``policy check`` with file, line and reason, and
``policy explain`` says honestly what the guard tier judges."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from middleware.policy.cli import main as policy_cli
from middleware.policy.explain import explain
from middleware.policy.loader import load_policy_file
from middleware.policy.registry import builtin_packs_dir
from tests.policy_support import load_problems, write_policy


def write(tmp: Path, body: str) -> Path:
    return write_policy(tmp, "cn-anthropomorphic-2026", body)


problems = load_problems


def test_a_guard_loads_with_its_defaults(tmp_path: Path) -> None:
    policy = load_policy_file(write(tmp_path, """\
        detection:
          guard: {model: guard, format: qwen3guard, checks: [crisis, prohibited_content], timeout: 1500ms}
        """), [builtin_packs_dir()])
    guard = policy.detection.guard
    assert guard is not None and guard.timeout == 1.5 and guard.on_error == "local" and guard.output == "sentence"


@pytest.mark.parametrize("guard, words", [
    ("{model: guard, format: shieldgemma}", "detection.guard.format"),
    ("{model: guard, format: llama_guard, checks: [human_claim]}", "llama_guard has no category for human_claim"),
    ("{model: guard, format: judge, checks: [mind_reading]}", "unknown guard check 'mind_reading'"),
    ("{model: guard, format: judge, on_error: shrug}", "detection.guard.on_error"),
    ("{model: guard, format: judge, timeout: 5m}", "timeout must be above 0 and at most 60s"),
    ("{format: judge}", "detection.guard.model"),
    ("{model: guard, format: judge, checks: [retention_plea]}", "unknown guard check"),
])
def test_a_guard_candor_cannot_run_is_refused(tmp_path: Path, guard: str, words: str) -> None:
    found = problems(write(tmp_path, f"detection:\n  guard: {guard}\n"))
    assert any(words in p for p in found), found


def test_a_reply_check_no_rule_acts_on_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        output_validators: []
        detection:
          guard: {model: guard, format: judge, checks: [crisis, privacy_probing]}
        """)
    assert any("names privacy_probing but no rule of this policy acts on it" in p for p in problems(path))


def test_an_unimportable_guardrails_validator_is_refused_by_policy_check(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, """\
        output_validators:
          - {guardrails: "tests.no_such_validators:Toxic", on_fail: block, cites: [ANTH-PROHIBIT-2]}
        """)
    assert policy_cli(["policy", "check", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:5: output_validators[0]" in err
    assert "cannot import module 'tests.no_such_validators'" in err and "ModuleNotFoundError" in err


@pytest.mark.parametrize("entry, words", [
    ("{guardrails: 'tests.guardrails_custom:NeedsArgs', on_fail: block}", "cannot construct NeedsArgs"),
    ("{guardrails: 'tests.guardrails_custom:NotAValidator', on_fail: block}", "not a Guardrails AI Validator"),
    ("{guardrails: 'tests.guardrails_custom:Nope', on_fail: block}", "has no 'Nope'"),
    ("{guardrails: 'not a path:X', on_fail: block}", "not a class path"),
])
def test_a_guardrails_validator_that_cannot_be_built_is_refused(tmp_path: Path, entry: str, words: str) -> None:
    found = problems(write(tmp_path, f"output_validators:\n  - {entry}\n"))
    assert any(words in p and ":5:" in p for p in found), found


def test_a_guardrails_validator_loads_named_in_snake_case_with_guardrails_on_fail_names(tmp_path: Path) -> None:
    policy = load_policy_file(write(tmp_path, """\
        output_validators:
          - {guardrails: "tests.guardrails_custom:RudeWord", on_fail: fix, cites: [ANTH-PROHIBIT-2]}
          - {guardrails: "tests.guardrails_custom:ForbiddenTopic", args: {topic: dragons}, on_fail: exception,
             cites: [ANTH-PROHIBIT-1]}
          - {guardrails: "tests.guardrails_custom:MentionsWeather", on_fail: noop, cites: [ANTH-PROHIBIT-1]}
        """), [builtin_packs_dir()])
    got = [(v.name, v.on_fail) for v in policy.output_validators]
    assert got == [("rude_word", "rewrite"), ("forbidden_topic", "block"), ("mentions_weather", "flag")]
    assert policy.output_validators[1].args == {"topic": "dragons"}


def test_explain_shows_the_guard_tier_and_the_guardrails_validators(tmp_path: Path) -> None:
    policy = load_policy_file(write(tmp_path, """\
        detection:
          guard: {model: guard, format: llama_guard, checks: [crisis, prohibited_content], on_error: refuse}
        output_validators:
          - {name: prohibited_content, on_fail: block, cites: [ANTH-PROHIBIT-1]}
          - {guardrails: "tests.guardrails_custom:RudeWord", on_fail: rewrite, cites: [ANTH-PROHIBIT-2]}
        """), [builtin_packs_dir()])
    detection = explain(policy, "detection")
    assert "Guard-model tier: model 'guard' (candor.yaml), format llama_guard" in detection
    assert "beside the provider" in detection and "503 guard_unavailable" in detection
    assert "each sentence before it is sent" in detection
    assert "crisis: pattern tier, model tier, guard tier" in explain(policy, "crisis")   # the crisis model serves
    checks = explain(policy, "output_validators")
    assert "prohibited_content (for all users)" in checks and "pattern tier, guard tier" in checks
    assert "the Guardrails AI validator tests.guardrails_custom:RudeWord" in checks
    plain = load_policy_file(builtin_packs_dir() / "cn-anthropomorphic-2026.yaml")
    assert "Guard-model tier: not configured" in explain(plain, "detection")
    assert "guard tier" not in explain(plain)
    # every trained model serves (layer.SERVED_MODELS), output side included, and explain names its tier
    assert "human_claim: pattern tier, model tier" in explain(plain, "disclosure")
    assert "retention_plea: pattern tier, model tier" in explain(plain, "exit")
    assert re.search(r"- emotional_manipulation .*\n    Enforced by: pattern tier, model tier",
                     explain(plain, "output_validators"))
