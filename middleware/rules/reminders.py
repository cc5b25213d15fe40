"""Usage and dependence reminders (ANTH-TIME-1/2, ANTH-DISCLOSE-2, CA-243-3, NY-47-2).

The clock (``rules/session.py``) decides when one is due, atomically across replicas; these rules
render it with the policy's text and record the decision with its measured grounds."""

from __future__ import annotations

from middleware.pipeline.exchange import Exchange
from middleware.policy.model import DependenceRules, Policy, UsageRules
from middleware.policy.notice_durations import with_interval
from middleware.rules.registry import Build, rule
from middleware.state import Decision


class UsageReminder:
    name = "usage"

    def __init__(self, policy: Policy, rules: UsageRules) -> None:
        self.policy = policy
        self.rules = rules

    def before(self, ex: Exchange) -> None:
        decision: Decision | None = ex.state.clock
        if decision is None or not decision.usage_reminder:
            return
        locale = ex.state.locale
        text = with_interval(self.policy.text(self.rules.notice, locale), self.rules.remind_every, locale)
        ex.notice("usage_reminder", text,
                  self.rules.display, continuous_minutes=decision.continuous_minutes)
        ex.decide("usage", self.rules.cites, "notice", {"continuous_minutes": decision.continuous_minutes})

    def after(self, ex: Exchange) -> None:
        return None


class DependenceReminder:
    name = "dependence"

    def __init__(self, policy: Policy, rules: DependenceRules) -> None:
        self.policy = policy
        self.rules = rules

    def before(self, ex: Exchange) -> None:
        decision: Decision | None = ex.state.clock
        if decision is None or not decision.dependence_signals:
            return
        signals = list(decision.dependence_signals)
        if not decision.dependence_reminder:
            ex.decide("dependence", self.rules.cites, "rate_limited", {"signals": signals})
            return
        ex.notice("dependence_reminder", self.policy.text(self.rules.notice, ex.state.locale),
                  self.rules.display, signals=signals)
        ex.decide("dependence", self.rules.cites, "notice", {"signals": signals})

    def after(self, ex: Exchange) -> None:
        return None


@rule("usage_reminder", stage="notifier", order=20)
def _usage(b: Build) -> UsageReminder | None:
    return UsageReminder(b.policy, b.policy.usage) if b.policy.usage is not None else None


@rule("dependence_reminder", stage="notifier", order=30)
def _dependence(b: Build) -> DependenceReminder | None:
    return DependenceReminder(b.policy, b.policy.dependence) if b.policy.dependence is not None else None
