"""Who the end user is (middleware/rules/identity.py): a request naming no user is refused (400
``user_required``) under ``anonymous: refuse``, or served with ``clocks_off`` recorded; never silently."""

from __future__ import annotations

import pytest

from middleware.http.errors import CandorError
from middleware.policy.model import IdentityRules
from middleware.rules.identity import IdentityGate
from middleware.testing import MemoryState, compile_rules, make_exchange, policy, run_gates


async def test_a_named_user_passes_untouched() -> None:
    ex = make_exchange(user="u-1")
    await IdentityGate(IdentityRules(anonymous="refuse")).admit(ex)
    assert ex.decisions == [] and ex.actions == []


async def test_refuse_answers_400_user_required_and_records_it() -> None:
    ex = make_exchange(user=None)
    with pytest.raises(CandorError) as err:
        await IdentityGate(IdentityRules(anonymous="refuse", cites=["ANTH-TIME-1"])).admit(ex)
    assert err.value.status == 400 and err.value.code == "user_required" and err.value.param == "user"
    assert ex.decisions[-1] == {"rule": "identity", "cites": ["ANTH-TIME-1"], "outcome": "refused",
                                "detail": {"reason": "no_user"}}


async def test_allow_serves_with_the_clocks_recorded_as_off() -> None:
    ex = make_exchange(user=None)
    await IdentityGate(IdentityRules(anonymous="allow")).admit(ex)
    assert "clocks_off" in ex.actions
    assert ex.decisions[-1]["outcome"] == "clocks_off" and ex.decisions[-1]["detail"] == {"clocks_off": "no_user"}
    ex = make_exchange(user=None)
    await IdentityGate(None).admit(ex)   # a policy with no identity section serves too
    assert "clocks_off" in ex.actions


async def test_the_gate_runs_first_so_a_refused_request_touches_no_clock() -> None:
    state = MemoryState()
    rules = compile_rules("cn-anthropomorphic-2026", state=state)
    assert isinstance(rules.gates[0], IdentityGate) and rules.gates[0].refuse
    with pytest.raises(CandorError):
        await run_gates(make_exchange(user=None), rules)
    assert state.states == {}
    assert not compile_rules(policy("us-ca-sb243")).gates[0].refuse   # type: ignore[attr-defined]
