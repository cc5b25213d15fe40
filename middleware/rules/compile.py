"""From a policy to the rules the pipeline runs, compiled once per policy version.

Detectors and their combined patterns are built here, when a policy loads, never per request."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from middleware.alerts.handover import HandoverRegistry
from middleware.likeness.enforce import LikenessGate
from middleware.pipeline.exchange import Exchange
from middleware.pipeline.guard_call import GuardCaller
from middleware.policy.model import Policy
from middleware.profiles.service import ProfileService
from middleware.rules.alerting import Alerter, AlertSink
from middleware.rules.base import RuleSet
from middleware.rules.crisis import assess as assess_crisis
from middleware.rules.crisis import crisis_level
from middleware.rules.registry import Build, specs
from middleware.rules.text import user_norm
from middleware.state import ClockParams, DependenceParams, StateStore

DEFAULT_SESSION_GAP = 12 * 3600.0   # a session the app did not name ends after this much inactivity
DEFAULT_IDLE_RESET = 30 * 60.0      # continuous use ends after this much silence, unless the policy says


@dataclass(frozen=True, slots=True)
class RuleDeps:
    """What compiled rules need from the running service (stores are opened at start-up)."""

    state: Callable[[], StateStore]
    likeness: Callable[[], LikenessGate]
    producer: str | None = None       # ContentProducer override from the deployment
    profiles: Callable[[], ProfileService] | None = None     # user profiles (None: the header's age band only)
    alerts: Callable[[], AlertSink] | None = None            # the durable alert outbox (None: no alerts)
    pseudonym: Callable[[str], str] | None = None            # user id -> the audit log's user_ref
    handover: Callable[[], HandoverRegistry] | None = None   # paused sessions (None: no hand-over)
    alert_user_id: bool = True                               # alerts.include_user_id
    operator_fields: Mapping[str, str] = field(default_factory=dict)   # {operator}, {filing_number} in notices
    guard: Callable[[], GuardCaller] | None = None           # guard-model calls (None: local tiers only)


def clock_params(policy: Policy, minor: bool = False) -> ClockParams:
    """The session clock for adults (``minor=False``: no reality reminders, no daily limit) or for
    minors (the ``minors`` section's ``reality_reminder_every`` and ``daily_limit``).

    "Continuous use" ends after ``usage.continuous_idle_reset`` of inactivity (30 minutes when the policy
    has no ``usage`` section). Periodic duties in ``max_gap`` mode ("at least every 3 hours of a
    continuing interaction": NY-47-2, CA-243-3) are given one idle reset early, so that no continuing
    stretch of use goes longer than their interval without one."""
    d, u, dep, m = policy.disclosure, policy.usage, policy.dependence, policy.minors
    gap = d.relogin_gap if d and d.relogin_gap else DEFAULT_SESSION_GAP
    idle = u.continuous_idle_reset if u else min(gap, DEFAULT_IDLE_RESET)
    reality = m.reality_reminder_every if m and minor else None
    dependence = None
    if dep is not None:
        s = dep.signals
        dependence = DependenceParams(
            daily_minutes=s.daily_minutes, sessions_per_day=s.sessions_per_day,
            late_night_start=s.late_night.start if s.late_night else None,
            late_night_end=s.late_night.end if s.late_night else None,
            attachment=True,   # built-in attachment phrases plus the policy's own
            min_interval=dep.min_interval,
        )
    return ClockParams(
        relogin_gap=gap,
        disclose_first_turn=bool(d and d.on_first_turn),
        first_turn_once_per=d.first_turn_once_per if d and d.first_turn_once_per != "day" else None,
        first_turn_daily=bool(d and d.first_turn_once_per == "day"),
        disclose_relogin=bool(d and d.relogin_gap is not None),
        disclosure_every=d.every if d else None,
        disclosure_lead=_lead(d.every if d else None, d.every_mode if d else "interval", idle),
        idle_reset=idle,
        remind_every=u.remind_every if u else None,
        reality_every=reality,
        reality_lead=_lead(reality, m.reality_reminder_mode if m else "interval", idle),
        daily_limit=m.daily_limit if m and minor else None,
        dependence=dependence,
        day_timezone=policy.timezone,
    )


def _lead(every: float | None, mode: str, idle: float) -> float:
    """How early a ``max_gap`` duty is given: one idle reset (the longest silence inside a continuing
    stretch), so the next request of the stretch can never come after the interval has passed."""
    if every is None or mode != "max_gap":
        return 0.0
    return min(idle, every / 2)


class RuleCompiler:
    """Compiles each policy version once; a reload compiles the new version on first use."""

    def __init__(self, deps: RuleDeps) -> None:
        self.deps = deps
        self._cache: dict[str, RuleSet] = {}

    def __call__(self, policy: Policy) -> RuleSet:
        rules = self._cache.get(policy.version)
        if rules is None:
            rules = self._cache[policy.version] = self.compile(policy)
            if len(self._cache) > 64:   # old versions after many reloads
                self._cache.pop(next(iter(self._cache)))
        return rules

    def compile(self, policy: Policy) -> RuleSet:
        from middleware.detectors.retention import AttachmentDetector

        _import_rule_modules()
        attachment: Callable[[Exchange], bool] | None = None
        if policy.dependence is not None:
            phrases = policy.dependence.signals.attachment_phrases
            detector = AttachmentDetector({"zh": list(phrases.zh), "en": list(phrases.en)})

            def attachment(ex: Exchange) -> bool:
                return detector.detect_normalized(user_norm(ex)).matched
        crisis_first: Callable[[Exchange], bool] | None = None
        if policy.crisis is not None:
            def crisis_first(ex: Exchange) -> bool:
                return crisis_level(assess_crisis(ex))[0] != "none"
        build = Build(policy=policy, deps=self.deps, alerter=Alerter(self.deps.alerts, self.deps.pseudonym,
                                                                  include_user_id=self.deps.alert_user_id),
                      crisis_first=crisis_first, attachment=attachment)
        rules = RuleSet()
        lists: dict[str, list[Any]] = {"gate": rules.gates, "shaper": rules.shapers, "guard": rules.guards,
                                       "notifier": rules.notifiers}
        for spec in specs():
            built = spec.build(build)
            if built is not None:
                lists[spec.stage].append(built)
        return rules


def _import_rule_modules() -> None:
    """Every module of this package, so that each rule's ``@rule`` registration has run."""
    package = __name__.rpartition(".")[0]
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        importlib.import_module(f"{package}.{info.name}")
