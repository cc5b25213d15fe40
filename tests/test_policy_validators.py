"""A policy claims only checks that run: unknown or unrunnable validators are refused at load and by
``candor policy check`` (file, line, key), the ``detection`` section is validated, and ``explain`` names
the tiers that enforce each rule and nothing that does not run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from middleware.policy.cli import main as policy_cli
from middleware.policy.explain import explain
from middleware.policy.loader import load_policy_dirs, load_policy_file
from middleware.policy.model import BUILTIN_VALIDATORS, validator_tiers
from middleware.policy.registry import builtin_packs_dir
from middleware.rules.detection import TASKS
from tests.policy_support import load_problems, write_policy


def write(tmp: Path, body: str) -> Path:
    return write_policy(tmp, "eu-ai-act-art50", body)


problems = load_problems


def test_an_unknown_validator_is_refused_naming_file_line_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        output_validators:
          - {name: emotional_manipulaton, on_fail: block, cites: [ANTH-PROHIBIT-6]}
          - {name: sentiment_police, on_fail: flag, cites: [ANTH-PROHIBIT-6]}
        """)
    found = problems(path)
    assert any(f"{path}:5: output_validators[0].name" in p and "did you mean 'emotional_manipulation'" in p
               for p in found), found
    assert any(f"{path}:6: output_validators[1].name" in p and "Candor cannot run it" in p for p in found), found


@pytest.mark.parametrize("entry, words", [
    ("{name: 'guardrails:hub/toxic_language', on_fail: block, cites: [ANTH-PROHIBIT-2]}", "cannot run the Guardrails"),
    ("{guardrails: 'pkg.mod:Toxic', on_fail: block, cites: [ANTH-PROHIBIT-2]}", "cannot import module 'pkg.mod'"),
])
def test_guardrails_validators_candor_cannot_run_are_refused(tmp_path: Path, entry: str, words: str) -> None:
    path = write(tmp_path, f"output_validators:\n  - {entry}\n")
    assert any(words in p and ":5:" in p for p in problems(path))


def test_the_cli_check_refuses_a_policy_naming_an_unknown_validator(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, "output_validators:\n  - {name: mind_reader, on_fail: block, cites: [ANTH-PROHIBIT-1]}\n")
    assert policy_cli(["policy", "check", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:5: output_validators[0].name: unknown validator 'mind_reader'" in err


def test_a_builtin_validator_whose_detector_is_missing_is_refused(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import middleware.rules.detection as detection

    monkeypatch.setattr(detection, "TASKS", frozenset(TASKS - {"privacy_probing"}))
    path = write(tmp_path, "output_validators:\n  - {name: privacy_probing, on_fail: flag, cites: [ANTH-PROHIBIT-3]}\n")
    assert any("cannot run in this build" in p and "privacy_probing" in p for p in problems(path))


def test_detection_context_turns_defaults_to_four_and_is_bounded(tmp_path: Path) -> None:
    policy = load_policy_file(write(tmp_path, "detection: {context_turns: 2}\n"), [builtin_packs_dir()])
    assert policy.detection.context_turns == 2
    default = load_policy_file(builtin_packs_dir() / "eu-ai-act-art50.yaml")
    assert default.detection.context_turns == 4
    assert any("detection.context_turns" in p for p in problems(write(tmp_path, "detection: {context_turns: -1}\n")))


def test_a_guard_asked_a_check_its_format_cannot_judge_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "detection:\n  guard: {model: guard, format: llama_guard, checks: [human_claim]}\n")
    found = problems(path)
    assert any(f"{path}:5: detection.guard" in p and "format llama_guard has no category for human_claim" in p
               for p in found), found


def test_explain_names_the_enforcing_tiers_and_lists_only_validators_that_run() -> None:
    packs = load_policy_dirs([builtin_packs_dir()])
    for policy in packs.values():
        text = explain(policy)
        for v in policy.output_validators:
            assert validator_tiers(v.name), v.name           # every listed validator runs in this build
            assert re.search(rf"- {re.escape(v.name)} .*\n    Enforced by: \w+ tier", text), v.name
        for name in policy.sections():
            assert "Enforced by:" in explain(policy, name)
    text = explain(packs["cn-anthropomorphic-2026"], "crisis")
    assert re.search(r"Enforced by: crisis: pattern tier", text)
    listed = set(re.findall(r"^  - (\w+) \(for", explain(packs["cn-anthropomorphic-2026"]), re.M))
    assert listed <= set(BUILTIN_VALIDATORS) and {"emotional_manipulation", "privacy_probing", "minor_safety",
                                                   "prohibited_content"} <= listed


def test_the_command_line_and_the_server_refuse_a_validator_that_cannot_run(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    import yaml

    pdir = tmp_path / "policies"
    pdir.mkdir()
    bad = write(pdir, "output_validators:\n  - {name: sentiment_police, on_fail: block, cites: [ANTH-PROHIBIT-6]}\n")
    root = Path(__file__).resolve().parents[1]
    check = subprocess.run([sys.executable, "-m", "middleware.cli.main", "policy", "check", str(bad)], cwd=root,
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 1 and f"{bad}:5: output_validators[0].name" in check.stderr
    config = tmp_path / "candor.yaml"
    apps = [{"id": "a", "key_env": "A_KEY", "policy": "p"}]
    config.write_text(yaml.safe_dump({"policies_dir": str(pdir), "apps": apps,
                                      "audit": {"url": f"sqlite:///{tmp_path}/audit.db"},
                                      "server": {"port": 1}}))
    env = {**os.environ, "A_KEY": "k"}
    serve = subprocess.run([sys.executable, "-m", "middleware.cli.main", "serve", "--config", str(config)],
                           cwd=tmp_path,
                           capture_output=True, text=True, timeout=120, env=env)
    assert serve.returncode != 0
    assert "sentiment_police" in serve.stdout + serve.stderr and "Candor cannot run it" in serve.stdout + serve.stderr
