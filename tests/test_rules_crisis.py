"""The crisis gate: one reading per request with the earlier turns, category and tier in compliance and
the audit decision, help for someone else at risk without the user's protocol, one alert per episode."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from middleware.alerts.models import Alert
from middleware.rules import crisis as crisis_rules
from middleware.rules.alerting import Alerter
from middleware.rules.crisis import EPISODE, CrisisGate, assess, crisis_level
from middleware.rules.detection import Reading
from tests.rules_support import exchange, pack, patterns_only

pytestmark = pytest.mark.usefixtures("patterns_only")
__all__ = ["patterns_only"]   # the fixture, imported for pytest


class Outbox:
    webhook_configured = True   # alerts count as sent: someone's webhook will get them

    def __init__(self) -> None:
        self.ids: list[str] = []

    async def enqueue(self, alert: Alert) -> Alert:
        if alert.id not in self.ids:
            self.ids.append(alert.id)
        return alert


def gate(outbox: Outbox) -> CrisisGate:
    policy = pack()
    assert policy.crisis is not None
    return CrisisGate(policy, policy.crisis, Alerter(lambda: outbox, lambda u: f"ref-{u}"), None)


def admit(g: CrisisGate, ex: Any) -> Any:
    asyncio.run(g.admit(ex))
    return ex


@pytest.mark.parametrize("label, level, category", [
    ("explicit_intent", "explicit_intent", "self_harm"), ("property_loss", "explicit_intent", "property_loss"),
    ("distress", "distress", "emotional"), ("third_party", "distress", "third_party"), ("none", "none", None)])
def test_each_crisis_label_has_its_level_and_category(label: str, level: str, category: str | None) -> None:
    assert crisis_level(Reading("crisis", label, 1.0, "model")) == (level, category)


def test_explicit_intent_names_category_tier_and_score() -> None:
    ex = admit(gate(Outbox()), exchange("我不想活了，药已经准备好了"))
    assert ex.crisis["level"] == "explicit_intent" and ex.crisis["category"] == "self_harm"
    assert ex.crisis["tier"] in ("pattern", "model") and ex.crisis["alerted"] is True
    detail = next(d["detail"] for d in ex.decisions if d["rule"] == "crisis")
    assert detail["tier"] == ex.crisis["tier"] and 0 <= detail["score"] <= 1 and detail["category"] == "self_harm"
    assert ex.actions == ["crisis_replaced"]


def test_someone_else_at_risk_gets_resources_not_the_users_protocol() -> None:
    outbox = Outbox()
    ex = admit(gate(outbox), exchange("我朋友说她不想活了，我该怎么帮她"))
    assert ex.crisis["category"] == "third_party" and ex.crisis["level"] == "distress"
    assert ex.answer is None and outbox.ids == [] and ex.crisis["resources"]


def test_the_reading_uses_the_policys_context_turns_and_is_made_once(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, tuple[str, ...], str]] = []

    def fake(task: str, text: str, context: Any = (), asked: str = "") -> Reading:
        seen.append((text, tuple(context), asked))
        return Reading(task, "none", 0.9, "model")

    monkeypatch.setattr(crisis_rules, "judge", fake)
    history = [{"role": "user", "content": f"turn {i}"} for i in range(6)]
    ex = exchange("那就今晚吧", history=[*history, {"role": "assistant", "content": "你是在想伤害自己吗？"}])
    assess(ex)
    assess(ex)
    assert seen == [("那就今晚吧", ("turn 2", "turn 3", "turn 4", "turn 5"), "你是在想伤害自己吗？")]


def test_a_yes_to_the_companions_risk_question_is_explicit_intent_unless_no_turns_are_read() -> None:
    history = [{"role": "user", "content": "how many of these would it take"},
               {"role": "assistant", "content": "I'm worried. Are you thinking of hurting yourself?"}]
    found = assess(exchange("yes", history=history))
    assert (found.label, found.tier, found.detail) == ("explicit_intent", "pattern", "affirmed_risk_question")
    assert assess(exchange("yes", history=history[:1])).label == "none"      # no question, no answer
    blind = exchange("yes", history=history)
    blind.policy = blind.policy.model_copy(update={"detection": blind.policy.detection.model_copy(
        update={"context_turns": 0})})
    assert assess(blind).label == "none"     # a policy that reads no earlier turns reads no question either


def test_an_episode_is_alerted_once_and_a_new_session_level_or_window_is_a_new_episode() -> None:
    outbox, g = Outbox(), gate(Outbox())
    g.alerter = Alerter(lambda: outbox, lambda u: f"ref-{u}")
    text = "我不想活了，今晚就结束一切"
    first = admit(g, exchange(text))
    again = exchange("我真的不想活了，药都准备好了")
    again.now = first.now + 600
    admit(g, again)
    assert len(outbox.ids) == 1 and again.crisis["alerted"] is True   # the episode's alert exists
    admit(g, exchange(text, session="s-2"))
    later = exchange(text)
    later.now = first.now + EPISODE
    admit(g, later)
    assert len(outbox.ids) == 3
    assert len(set(outbox.ids)) == 3 and all(i.startswith("alr_crisis_") for i in outbox.ids)
