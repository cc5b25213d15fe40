"""Changes made from the command line are audit events, like the admin API's (issues 6 and 7)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def candor(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CANDOR_CONFIG"}
    return subprocess.run([sys.executable, "-m", "adapters.main", *args], cwd=tmp, env=env,
                          capture_output=True, text=True, timeout=60)


def test_persona_consent_and_profile_changes_from_the_cli_are_audited(tmp_path: Path) -> None:
    (tmp_path / "form.pdf").write_text("signed consent form")
    steps = [
        ("persona", "add", "grandpa", "--name", "爷爷", "--relationship", "relative", "--subject", "wang-ye",
         "--kinds", "voice", "--deceased"),
        ("consent", "add", "--subject", "wang-ye", "--granted-by", "next_of_kin", "--scopes", "voice",
         "--purpose", "memorial companion", "--evidence", "form.pdf"),
        ("user", "set", "kid-1", "--age-band", "minor"),
    ]
    for step in steps:
        done = candor(tmp_path, *step)
        assert done.returncode == 0, done.stdout + done.stderr
    exported = candor(tmp_path, "audit", "export", "--format", "jsonl")
    kinds = [json.loads(line)["kind"] for line in exported.stdout.splitlines()]
    assert {"persona_change", "consent_change", "profile_change"} <= set(kinds)
    assert candor(tmp_path, "audit", "verify").returncode == 0
