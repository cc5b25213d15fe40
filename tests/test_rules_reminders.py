"""Usage and dependence reminders (middleware/rules/reminders.py)."""

from __future__ import annotations

from middleware.rules.reminders import DependenceReminder, UsageReminder
from middleware.testing import MemoryState, VirtualClock, compile_rules, make_exchange, run_gates


async def test_two_hours_of_continuous_use_bring_one_usage_reminder() -> None:
    rules = compile_rules(state=MemoryState())
    assert any(isinstance(n, UsageReminder) for n in rules.notifiers)
    assert any(isinstance(n, DependenceReminder) for n in rules.notifiers)
    clock = VirtualClock()
    kinds: list[str] = []
    for _ in range(13):   # one message every 10 minutes for two hours
        ex = make_exchange(now=clock.now)
        await run_gates(ex, rules)
        kinds += [n["kind"] for n in ex.notices]
        clock.advance(600)
    assert kinds.count("usage_reminder") == 1
