"""Shared by the policy-file tests: a policy extending a shipped pack, written to disk, and its load problems."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from middleware.config.yamlfile import FileProblems
from middleware.policy.loader import load_policy_file
from middleware.policy.registry import builtin_packs_dir


def write_policy(tmp: Path, extends: str, body: str) -> Path:
    """``p.yaml`` (id ``p``) extending ``extends``, with ``body`` (dedented) below the header."""
    path = tmp / "p.yaml"
    path.write_text(f"id: p\nextends: {extends}\ntitle: t\n" + textwrap.dedent(body), encoding="utf-8")
    return path


def load_problems(path: Path) -> list[str]:
    """The problems that refuse ``path``, as text (the load must fail)."""
    with pytest.raises(FileProblems) as info:
        load_policy_file(path, [builtin_packs_dir()])
    return [str(p) for p in info.value.problems]
