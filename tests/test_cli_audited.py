"""Changes made from the command line are audit events, like the admin API's (issues 6 and 7). The CLI runs
in process (``middleware.cli.main``, as the ``candor`` entry point calls it), in a fresh working directory
with no config: the built-in defaults, the audit log in ./.candor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from middleware.cli.main import main


def candor(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(list(args))
    out = capsys.readouterr()
    return int(done.value.code or 0), out.out, out.err


def test_persona_consent_and_profile_changes_from_the_cli_are_audited(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CANDOR_CONFIG", raising=False)
    (tmp_path / "form.pdf").write_text("signed consent form")
    steps = [
        ("persona", "add", "grandpa", "--name", "爷爷", "--relationship", "relative", "--subject", "wang-ye",
         "--kinds", "voice", "--deceased"),
        ("consent", "add", "--subject", "wang-ye", "--granted-by", "next_of_kin", "--scopes", "voice",
         "--purpose", "memorial companion", "--evidence", "form.pdf"),
        ("user", "set", "kid-1", "--age-band", "minor"),
    ]
    for step in steps:
        code, out, err = candor(capsys, *step)
        assert code == 0, out + err
    code, exported, err = candor(capsys, "audit", "export", "--format", "jsonl")
    assert code == 0, err
    kinds = [json.loads(line)["kind"] for line in exported.splitlines()]
    assert {"persona_change", "consent_change", "profile_change"} <= set(kinds)
    assert candor(capsys, "audit", "verify")[0] == 0
