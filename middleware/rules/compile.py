"""From a policy to the rules the pipeline runs, compiled once per policy version.

Detectors and their combined patterns are built here, when a policy loads, never per request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..exchange import Exchange
from ..handover import HandoverRegistry
from ..likeness.enforce import LikenessGate
from ..policy.model import Policy
from ..profiles.service import ProfileService
from ..state import ClockParams, DependenceParams, StateStore
from .alerting import Alerter, AlertSink
from .audience import AudienceGate, ElderlyWarning, RealityReminder
from .base import Gate, Guard, Notifier, RuleSet, Shaper
from .crisis import CrisisGate, HandoverGate, crisis_level
from .crisis import assess as assess_crisis
from .disclosure import DisclosureNotice, HumanClaimGuard, SystemInstruction
from .exit import ExitGate
from .labels import LabelNotifier, NoticeText
from .output import OutputGuard, compile_checks
from .persona import DeferredRefusal, DigitalHumanNotice, IdentityCheckGate, PersonaGate
from .profile import ProfileGate
from .reminders import DependenceReminder, UsageReminder
from .session import SessionGate
from .text import user_norm

DEFAULT_SESSION_GAP = 12 * 3600.0   # a session the app did not name ends after this much inactivity


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


def clock_params(policy: Policy, minor: bool = False) -> ClockParams:
    """The session clock for adults (``minor=False``: no reality reminders, no daily limit) or for
    minors (the ``minors`` section's ``reality_reminder_every`` and ``daily_limit``).

    "Continuous use" ends after ``usage.continuous_idle_reset`` of inactivity. A policy without a
    ``usage`` section does not define continuous use; its periodic duties ("at least every 3 hours
    of a continuing interaction": NY-47-2, CA-243-3) then count an interaction as continuing while
    its session is open, so the idle reset is the session gap."""
    d, u, dep, m = policy.disclosure, policy.usage, policy.dependence, policy.minors
    gap = d.relogin_gap if d and d.relogin_gap else DEFAULT_SESSION_GAP
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
        first_turn_once_per=d.first_turn_once_per if d else None,
        disclose_relogin=bool(d and d.relogin_gap is not None),
        disclosure_every=d.every if d else None,
        idle_reset=u.continuous_idle_reset if u else gap,
        remind_every=u.remind_every if u else None,
        reality_every=m.reality_reminder_every if m and minor else None,
        daily_limit=m.daily_limit if m and minor else None,
        dependence=dependence,
        day_timezone=policy.timezone,
    )


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
        from ..detectors.elderly import DEFAULT_ELDERLY_RISK
        from ..detectors.exit_intent import ExitIntentDetector
        from ..detectors.identity_check import IdentityCheckAbuseDetector
        from ..detectors.minor import DEFAULT_MINOR
        from ..detectors.retention import AttachmentDetector

        deps = self.deps
        alerter = Alerter(deps.alerts, deps.pseudonym)
        attachment: Callable[[Exchange], bool] | None = None
        if policy.dependence is not None:
            phrases = policy.dependence.signals.attachment_phrases
            detector = AttachmentDetector({"zh": list(phrases.zh), "en": list(phrases.en)})

            def attachment(ex: Exchange) -> bool:
                return detector.detect_normalized(user_norm(ex)).matched
        # order matters: the profile decides which clock applies; help in a crisis and a free exit come
        # before any refusal (a person in crisis is never answered with a 403 when help can be given)
        # ... and refusals that need no clock come before the session clock, so a refused request does
        # not use up the first-turn disclosure or a reminder (unless the message may be a crisis: then
        # the refusal waits until the crisis gate has had its say)
        crisis_first = None
        if policy.crisis is not None:
            def crisis_first(ex: Exchange) -> bool:
                return crisis_level(assess_crisis(ex))[0] != "none"
        gates: list[Gate] = [ProfileGate(policy, deps.profiles, alerter, DEFAULT_MINOR)]
        if policy.likeness is not None:
            gates.append(IdentityCheckGate(IdentityCheckAbuseDetector(), crisis_first))
        gates.append(PersonaGate(policy.likeness, deps.likeness, crisis_first))
        gates.append(SessionGate(clock_params(policy), deps.state, attachment, clock_params(policy, minor=True)))
        if deps.handover is not None:
            gates.append(HandoverGate(policy, deps.handover))
        if policy.crisis is not None:
            gates.append(CrisisGate(policy, policy.crisis, alerter, deps.handover))
        if policy.exit is not None:
            keywords = {"zh": list(policy.exit.keywords.zh), "en": list(policy.exit.keywords.en)}
            gates.append(ExitGate(policy, policy.exit, ExitIntentDetector(keywords), deps.state))
        gates.append(DeferredRefusal())
        gates.append(AudienceGate(policy))
        shapers: list[Shaper] = []
        guards: list[Guard] = []
        notifiers: list[Notifier] = []
        if policy.disclosure is not None:
            notifiers.append(DisclosureNotice(policy, policy.disclosure))
            shapers.append(SystemInstruction(policy, policy.disclosure))
            guards.append(HumanClaimGuard(policy, policy.disclosure))
        checks = compile_checks(policy)
        if checks:
            guards.append(OutputGuard(policy, checks))
        if policy.usage is not None:
            notifiers.append(UsageReminder(policy, policy.usage))
        if policy.dependence is not None:
            notifiers.append(DependenceReminder(policy, policy.dependence))
        if policy.minors is not None:
            notifiers.append(RealityReminder(policy, policy.minors))
        if policy.elderly is not None:
            notifiers.append(ElderlyWarning(policy, policy.elderly, DEFAULT_ELDERLY_RISK))
        notifiers.append(DigitalHumanNotice(policy))
        if policy.labels is not None:
            notifiers.append(LabelNotifier(policy, policy.labels, deps.producer))
        notifiers.append(NoticeText())
        return RuleSet(gates=gates, shapers=shapers, guards=guards, notifiers=notifiers)
