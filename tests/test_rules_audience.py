"""Minors and the elderly (middleware/rules/audience.py)."""

from __future__ import annotations

from middleware.rules.audience import AudienceGate, ElderlyWarning, RealityReminder
from middleware.testing import MemoryState, VirtualClock, compile_rules, make_exchange, run_gates


async def test_a_minor_gets_reality_reminders_on_their_clock() -> None:
    rules = compile_rules(state=MemoryState())
    assert any(isinstance(g, AudienceGate) for g in rules.gates)
    assert any(isinstance(n, RealityReminder) for n in rules.notifiers)
    clock = VirtualClock()
    kinds: list[str] = []
    for _ in range(5):   # every 10 minutes for 40 minutes (the daily limit is an hour)
        ex = make_exchange(now=clock.now, age_band="minor")
        await run_gates(ex, rules)
        kinds += [n["kind"] for n in ex.notices]
        clock.advance(600)
    assert "reality_reminder" in kinds


async def test_an_elderly_user_talking_about_a_transfer_gets_a_risk_warning() -> None:
    rules = compile_rules()
    assert any(isinstance(n, ElderlyWarning) for n in rules.notifiers)
    ex = make_exchange(text="客服说我的养老金账户有风险，让我把钱转到安全账户", age_band="elderly")
    await run_gates(ex, rules)
    assert "risk_warning" in [n["kind"] for n in ex.notices] or ex.crisis is not None
