"""The profile gate (middleware/rules/profile.py): which age band applies, and from where."""

from __future__ import annotations

from middleware.rules.profile import ProfileGate
from middleware.testing import compile_rules, make_exchange, run_gates


async def test_without_a_profile_the_apps_claim_is_the_band() -> None:
    rules = compile_rules()
    assert any(isinstance(g, ProfileGate) for g in rules.gates)
    ex = make_exchange(age_band="elderly")
    await run_gates(ex, rules)
    assert ex.state.age_band == "elderly" and ex.state.age_band_source == "header" and ex.state.profile is None


async def test_no_claim_no_band() -> None:
    ex = make_exchange()
    await run_gates(ex, compile_rules())
    assert ex.state.age_band is None and ex.state.age_band_source is None
