"""``candor user show|set`` through the real factory on a SQLite store named by the config file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from middleware.profiles.cli import add_user_commands


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="candor")
    parser.add_argument("--config")
    top = parser.add_subparsers(dest="command", required=True)
    user = top.add_parser("user")
    add_user_commands(user.add_subparsers(dest="user_command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


@pytest.fixture
def config(tmp_path: Path) -> str:
    path = tmp_path / "candor.yaml"
    path.write_text("audit: {url: 'sqlite:///data/audit.db'}\n")
    return str(path)


def test_set_then_show(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--config", config, "user", "set", "kid-1", "--age-band", "under14", "--guardian-consent", "yes",
                "--guardian-contact", "mum@example.com", "--block-persona", "lover", "--block-persona", "spouse",
                "--unlabeled-allowed", "no"]) == 0
    assert "saved" in capsys.readouterr().out
    assert run(["--config", config, "user", "set", "kid-1", "--unblock-persona", "lover",
                "--emergency-contact", "+86 120"]) == 0
    capsys.readouterr()
    assert run(["--config", config, "user", "show", "kid-1", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["age_band"] == "under14" and shown["guardian_consent"] is True
    assert shown["guardian_contact"] == "mum@example.com" and shown["emergency_contact"] == "+86 120"
    assert shown["blocked_personas"] == ["spouse"] and shown["version"] == 2
    # relative store paths resolve against the config file's directory
    assert (Path(config).parent / "data" / "audit.db").is_file()


def test_training_consent_is_set_and_withdrawn(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--config", config, "user", "set", "ana", "--training-consent", "yes"]) == 0
    capsys.readouterr()
    assert run(["--config", config, "user", "show", "ana", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["training_consent"] is True
    assert run(["--config", config, "user", "set", "ana", "--training-consent", "no"]) == 0
    capsys.readouterr()
    assert run(["--config", config, "user", "show", "ana"]) == 0
    assert "training consent: no" in capsys.readouterr().out


def test_text_output_and_clearing(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    run(["--config", config, "user", "set", "bob", "--age-band", "elderly", "--emergency-contact", "son"])
    run(["--config", config, "user", "set", "bob", "--age-band", "none", "--emergency-contact", ""])
    capsys.readouterr()
    assert run(["--config", config, "user", "show", "bob"]) == 0
    out = capsys.readouterr().out
    assert "age band: -" in out and "emergency contact: -" in out and "version 2" in out


def test_refusals_exit_1(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--config", config, "user", "show", "nobody"]) == 1
    assert "no profile" in capsys.readouterr().err
    assert run(["--config", config, "user", "set", "bob"]) == 1
    assert "nothing to set" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run(["--config", config, "user", "set", "bob", "--guardian-consent", "maybe"])
    with pytest.raises(SystemExit):
        run(["--config", config, "user", "set", "bob", "--age-band", "toddler"])


def test_unusable_store_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "candor.yaml"
    path.write_text("audit: {url: 'mysql://nope'}\n")
    assert run(["--config", str(path), "user", "show", "x"]) == 2
    assert "unsupported store URL" in capsys.readouterr().err
