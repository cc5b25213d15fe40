"""Disclosure (middleware/rules/disclosure.py): the first-turn notice, the system instruction, the
human-claim guard, the truthful answer to "are you human?"."""

from __future__ import annotations

from middleware.rules.disclosure import DisclosureNotice, HumanClaimGuard, SystemInstruction
from middleware.testing import MemoryState, compile_rules, make_exchange, run_gates


async def test_the_first_turn_is_disclosed_once() -> None:
    rules = compile_rules(state=MemoryState())
    assert {type(r) for r in (*rules.notifiers, *rules.shapers, *rules.guards)} >= {
        DisclosureNotice, SystemInstruction, HumanClaimGuard}
    first, second = make_exchange(now=1e9), make_exchange(now=1e9 + 60)
    await run_gates(first, rules)
    await run_gates(second, rules)
    assert [n["kind"] for n in first.notices].count("ai_disclosure") == 1
    assert "ai_disclosure" not in [n["kind"] for n in second.notices]
    assert first.system, "the model is told never to claim to be human"


async def test_a_human_claim_in_the_reply_is_rewritten() -> None:
    rules = compile_rules()
    ex = make_exchange(text="hi")
    await run_gates(ex, rules)
    guard = next(g for g in rules.guards if isinstance(g, HumanClaimGuard))
    step = guard.start(ex)
    assert step is not None
