"""Every case of every shipped pack (``policies/tests/**``) passes through the real pipeline, in
process: what ``candor policy test`` proves, proven in CI too."""

from __future__ import annotations

from pathlib import Path

import pytest

from middleware.policy.cases import Case, load_cases
from middleware.policy.loader import load_policy_dirs
from middleware.policy.registry import builtin_packs_dir
from middleware.policy.runner import CaseRunner

PACKS = builtin_packs_dir()
CASES = load_cases(PACKS / "tests")
POLICIES = load_policy_dirs([PACKS])


def test_every_shipped_pack_has_cases() -> None:
    assert {case.policy for _, case in CASES} == set(POLICIES)


@pytest.mark.parametrize(("path", "case"), CASES, ids=[str(p.relative_to(PACKS / "tests")) for p, _ in CASES])
async def test_shipped_case_passes(path: Path, case: Case) -> None:
    result = await CaseRunner(PACKS).run(path, case, POLICIES[case.policy].timezone)
    assert result.passed, "\n".join(result.failures)
