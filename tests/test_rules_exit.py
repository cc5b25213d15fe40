"""Exit (middleware/rules/exit.py): a user who wants to leave is let go, and the session ends."""

from __future__ import annotations

from middleware.rules.exit import ExitGate
from middleware.testing import MemoryState, compile_rules, make_exchange, run_gates


async def test_an_exit_is_honoured_without_the_model_and_ends_the_session() -> None:
    state = MemoryState()
    rules = compile_rules(state=state)
    assert any(isinstance(g, ExitGate) for g in rules.gates)
    await run_gates(make_exchange(text="你好"), rules)
    ex = make_exchange(text="不聊了，我要走了，再见")
    await run_gates(ex, rules)
    assert ex.answer and "exit_honored" in ex.actions and ex.kind == "exit"
    snapshot = await state.snapshot(ex.state.scope or "")
    assert snapshot is not None and snapshot.current is None


async def test_exiting_something_else_is_not_leaving() -> None:
    ex = make_exchange(text="how do I exit vim?")
    await run_gates(ex, compile_rules())
    assert ex.answer is None and "exit_honored" not in ex.actions
