"""``candor persona ...`` and ``candor consent ...`` against the SQLite store named by candor.yaml."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
from pathlib import Path

import pytest

from adapters.sqlite.likeness import SqliteLikenessStore
from middleware.likeness.cli import add_consent_commands, add_persona_commands


def candor(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="candor")
    parser.add_argument("--config")
    subs = parser.add_subparsers(dest="command", required=True)
    add_persona_commands(subs)
    add_consent_commands(subs)
    args = parser.parse_args(argv)
    return int(args.func(args))


@pytest.fixture
def cfg(tmp_path: Path) -> str:
    path = tmp_path / "candor.yaml"
    # a relative store path resolves against the config file's directory
    path.write_text('audit: {url: "sqlite:///state/audit.db"}\n')
    return str(path)


def test_persona_and_consent_lifecycle(cfg: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert candor(["--config", cfg, "persona", "add", "lin", "--name", "Lin", "--relationship", "companion",
                   "--subject", "subj-lin", "--kinds", "face,voice"]) == 0
    assert (tmp_path / "state" / "audit.db").is_file()
    capsys.readouterr()
    assert candor(["--config", cfg, "persona", "show", "lin"]) == 0
    assert "missing: face, voice" in capsys.readouterr().out

    evidence = tmp_path / "signed-consent.pdf"
    evidence.write_bytes(b"%PDF- signed by Lin")
    assert candor(["--config", cfg, "consent", "add", "--id", "c1", "--subject", "subj-lin", "--granted-by",
                   "subject", "--scopes", "face,voice", "--purpose", "digital human in the companion app",
                   "--evidence", str(evidence), "--valid-until", "2099-01-01", "--json"]) == 0
    added = json.loads(capsys.readouterr().out)
    assert added["evidence_sha256"] == hashlib.sha256(evidence.read_bytes()).hexdigest()
    assert added["valid_until"].startswith("2099-01-01T00:00:00") and added["actor"].startswith("cli")

    assert candor(["--config", cfg, "persona", "show", "lin"]) == 0
    assert "consent covers: face, voice; missing: nothing" in capsys.readouterr().out
    assert candor(["--config", cfg, "consent", "revoke", "c1", "--reason", "withdrawn by letter"]) == 0
    assert "revoked consent c1" in capsys.readouterr().out
    assert candor(["--config", cfg, "consent", "list", "--subject", "subj-lin", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(c["id"], c["status"], c["revoked_reason"]) for c in listed] == [("c1", "revoked", "withdrawn by letter")]
    assert candor(["--config", cfg, "consent", "show", "c1"]) == 0
    assert "evidence sha256:" in capsys.readouterr().out

    assert candor(["--config", cfg, "persona", "disable", "lin"]) == 0
    assert candor(["--config", cfg, "persona", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.split("\n", 1)[1])[0]["enabled"] is False


def test_refusals_exit_1_with_the_reason(cfg: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert candor(["--config", cfg, "persona", "add", "gran", "--name", "Grandma", "--relationship", "relative",
                   "--subject", "subj-gran", "--deceased"]) == 0
    code = candor(["--config", cfg, "consent", "add", "--subject", "subj-gran", "--granted-by", "subject",
                   "--scopes", "face", "--purpose", "memorial", "--evidence-sha256", "ab" * 32])
    assert code == 1
    assert "next_of_kin" in capsys.readouterr().err
    assert candor(["--config", cfg, "consent", "revoke", "nope"]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert candor(["--config", cfg, "persona", "show", "nope"]) == 1


def test_store_option_overrides_the_config(cfg: str, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere.db"
    assert candor(["--config", cfg, "persona", "add", "x", "--name", "X", "--relationship", "friend",
                   "--store", f"sqlite:///{other}"]) == 0

    async def ids() -> list[str]:
        store = SqliteLikenessStore(other)
        await store.open()
        try:
            return [p.id for p in await store.list_personas()]
        finally:
            await store.close()

    assert asyncio.run(ids()) == ["x"]


def test_bad_config_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "candor.yaml"
    bad.write_text("audit: {ur: x}\n")
    assert candor(["--config", str(bad), "persona", "list"]) == 2
    assert "audit" in capsys.readouterr().err
