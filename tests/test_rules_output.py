"""Output validators (middleware/rules/output.py)."""

from __future__ import annotations

from middleware.rules.output import OutputGuard, compile_checks
from middleware.testing import policy


def test_the_cn_pack_compiles_its_output_checks() -> None:
    checks = compile_checks(policy())
    assert checks and all(c.name for c in checks)
    assert OutputGuard(policy(), checks).start is not None
