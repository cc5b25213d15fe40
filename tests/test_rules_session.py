"""The session gate (middleware/rules/session.py): one clock decision per request, kept in the state."""

from __future__ import annotations

from middleware.rules.session import SessionGate, is_minor, scope_key
from middleware.testing import MemoryState, compile_rules, make_exchange, run_gates


async def test_the_first_turn_opens_a_session_and_the_second_continues_it() -> None:
    state = MemoryState()
    rules = compile_rules(state=state)
    assert any(isinstance(g, SessionGate) for g in rules.gates)
    first = make_exchange(now=1_772_416_800.0)
    await run_gates(first, rules)
    assert first.state.clock is not None and first.state.clock.new_session and first.ctx.session_id
    second = make_exchange(now=1_772_416_860.0)
    await run_gates(second, rules)
    assert second.state.clock is not None and not second.state.clock.new_session
    assert second.ctx.session_id == first.ctx.session_id


async def test_a_request_without_a_user_has_no_scope() -> None:
    ex = make_exchange("us-ny-art47", user=None)   # a pack that serves anonymous requests (clocks off)
    assert scope_key(ex.ctx) is None
    await run_gates(ex, compile_rules("us-ny-art47"))
    assert ex.state.scope is None and ex.state.clock is not None and "clocks_off" in ex.actions


def test_minor_bands_are_minors() -> None:
    assert is_minor(make_exchange(age_band="under14")) and not is_minor(make_exchange(age_band="adult"))
