"""``candor config check``: every problem of candor.yaml at once, each with its line; ``candor serve``
refuses to start with the same list (issue 15)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from middleware.cli.main import main
from middleware.config.check import check_config, report

FIVE_MISTAKES = """\
server:
  port: not-a-port
  hots: 127.0.0.1
models:
  - name: companion
    target: openai/gpt-4o-mini
    api_key_env: CC_MISSING_PROVIDER_KEY
apps:
  - id: demo
    key_env: CC_MISSING_APP_KEY
    policy: cn-anthropomorphic-2099
"""
EXPECTED = [   # (line, key, words in the message)
    (2, "server.port", "valid integer"),
    (3, "server.hots", "did you mean 'host'"),
    (7, "models[0].api_key_env", "CC_MISSING_PROVIDER_KEY is not set"),
    (10, "apps[0].key_env", "CC_MISSING_APP_KEY is not set"),
    (11, "apps[0].policy", "'cn-anthropomorphic-2099' is not in the policy directories"),
]


@pytest.fixture
def bad_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("CC_MISSING_PROVIDER_KEY", "CC_MISSING_APP_KEY"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "candor.yaml"
    path.write_text(FIVE_MISTAKES)
    return path


def _check_lines(output: str, path: Path) -> None:
    assert "5 problem(s)" in output
    for line, key, words in EXPECTED:
        hit = [row for row in output.splitlines() if f"{path}:{line}: {key}:" in row]
        assert hit and words in hit[0], (line, key, output)


def test_config_check_reports_all_five_mistakes_with_lines(bad_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["config", "check", str(bad_file)])
    assert done.value.code == 1
    _check_lines(capsys.readouterr().err, bad_file)


def test_config_check_passes_a_good_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CC_GOOD_APP_KEY", "k")
    path = tmp_path / "candor.yaml"
    path.write_text("apps:\n  - id: demo\n    key_env: CC_GOOD_APP_KEY\n")
    with pytest.raises(SystemExit) as done:
        main(["config", "check", str(path)])
    assert done.value.code == 0 and "ok" in capsys.readouterr().out


def test_config_check_reports_yaml_syntax_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "candor.yaml"
    path.write_text("apps: [\n")
    with pytest.raises(SystemExit) as done:
        main(["config", "check", str(path)])
    assert done.value.code == 1 and str(path) in capsys.readouterr().err


def test_serve_refuses_to_start_with_the_same_full_list(bad_file: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CC_MISSING")}
    done = subprocess.run([sys.executable, "-m", "adapters.main", "serve", "--config", str(bad_file)],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 2   # as for every command whose config does not load
    assert "cannot start" in done.stderr
    _check_lines(done.stderr, bad_file)


def test_config_check_names_a_guard_model_missing_from_the_models(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CC_GOOD_APP_KEY", "k")
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "guarded.yaml").write_text(
        "id: guarded\nextends: cn-anthropomorphic-2026\ntitle: t\n"
        "detection:\n  guard: {model: guard, format: llama_guard, checks: [crisis]}\n")
    path = tmp_path / "candor.yaml"
    path.write_text("models:\n  - {name: companion, target: candor/demo}\n"
                    "apps:\n  - id: demo\n    key_env: CC_GOOD_APP_KEY\n    policy: guarded\n")
    with pytest.raises(SystemExit) as done:
        main(["config", "check", str(path)])
    err = capsys.readouterr().err
    assert done.value.code == 1
    assert "apps[0].policy" in err and "detection.guard.model 'guard' is not a model in this file" in err


def test_check_config_reads_app_keys_from_the_given_environment(bad_file: Path) -> None:
    problems = check_config(str(bad_file), environ={"CC_MISSING_APP_KEY": "k"})
    keys = [p.key for p in problems]
    assert "apps[0].key_env" not in keys
    assert {"server.port", "server.hots", "apps[0].policy"} <= set(keys)
    assert len(check_config(str(bad_file), environ={})) == 5
    assert all(p.line is not None for p in problems)


def test_check_config_of_no_file_checks_the_built_in_defaults() -> None:
    assert check_config(None, environ={}) == []


def test_the_report_counts_and_lists_every_problem(bad_file: Path) -> None:
    problems = check_config(str(bad_file), environ={})
    text = report(str(bad_file), problems, starting=True)
    assert text.splitlines()[0] == f"candor: cannot start: {bad_file} has 5 problem(s):"
    assert len(text.splitlines()) == 6 and all(line.startswith("  ") for line in text.splitlines()[1:])
    assert report(None, problems).startswith("candor: the built-in defaults has 5")
