"""Crisis (middleware/rules/crisis.py): help before anything else, an alert, resources."""

from __future__ import annotations

from middleware.rules.crisis import CrisisGate, resources, resources_text
from middleware.testing import RecordingAlerts, compile_rules, make_exchange, policy, run_gates


async def test_explicit_intent_is_answered_with_help_and_alerts_the_operator() -> None:
    alerts = RecordingAlerts()
    rules = compile_rules(alerts=alerts)
    assert any(isinstance(g, CrisisGate) for g in rules.gates)
    ex = make_exchange(text="我不想活了，药都攒够了")
    await run_gates(ex, rules)
    assert ex.crisis is not None and ex.crisis["level"] == "explicit_intent" and ex.crisis["alerted"]
    assert ex.answer and ex.kind == "crisis"
    assert [a.kind for a in alerts.sent] == ["crisis"]


async def test_distress_augments_without_replacing_or_alerting() -> None:
    alerts = RecordingAlerts()
    ex = make_exchange(text="活着好累，感觉没有人在乎我")
    await run_gates(ex, compile_rules(alerts=alerts))
    assert ex.crisis is not None and ex.crisis["level"] == "distress" and ex.answer is None
    assert alerts.sent == []


async def test_figurative_speech_is_not_a_crisis() -> None:
    ex = make_exchange(text="笑死我了，这个视频太好笑")
    await run_gates(ex, compile_rules())
    assert ex.crisis is None


def test_resources_are_listed_in_the_users_language() -> None:
    pol = policy()
    items = resources(pol, pol.crisis, "zh-CN")
    assert items and resources_text(pol, items, "zh-CN")
