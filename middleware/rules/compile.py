"""From a policy to the rules the pipeline runs, compiled once per policy version.

Detectors and their combined patterns are built here, when a policy loads, never per request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..likeness.enforce import LikenessGate
from ..policy.model import Policy
from ..state import ClockParams, DependenceParams, StateStore
from .base import Gate, Guard, Notifier, RuleSet, Shaper
from .disclosure import DisclosureNotice, HumanClaimGuard, SystemInstruction
from .labels import LabelNotifier, NoticeText
from .persona import DigitalHumanNotice, IdentityCheckGate, PersonaGate
from .reminders import DependenceReminder, UsageReminder
from .session import SessionGate

DEFAULT_SESSION_GAP = 12 * 3600.0   # a session the app did not name ends after this much inactivity
DEFAULT_IDLE_RESET = 30 * 60.0      # "continuous use" ends after this much inactivity


@dataclass(frozen=True, slots=True)
class RuleDeps:
    """What compiled rules need from the running service (stores are opened at start-up)."""

    state: Callable[[], StateStore]
    likeness: Callable[[], LikenessGate]
    producer: str | None = None       # ContentProducer override from the deployment


def clock_params(policy: Policy) -> ClockParams:
    d, u, dep, m = policy.disclosure, policy.usage, policy.dependence, policy.minors
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
        relogin_gap=(d.relogin_gap if d and d.relogin_gap else DEFAULT_SESSION_GAP),
        disclose_first_turn=bool(d and d.on_first_turn),
        first_turn_once_per=d.first_turn_once_per if d else None,
        disclose_relogin=bool(d and d.relogin_gap is not None),
        disclosure_every=d.every if d else None,
        idle_reset=u.continuous_idle_reset if u else DEFAULT_IDLE_RESET,
        remind_every=u.remind_every if u else None,
        reality_every=m.reality_reminder_every if m else None,
        daily_limit=m.daily_limit if m else None,
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
        from ..detectors.human_claim import HumanClaimDetector
        from ..detectors.identity_check import IdentityCheckAbuseDetector
        from ..detectors.retention import AttachmentDetector

        attachment: Callable[[str], bool] | None = None
        if policy.dependence is not None:
            phrases = policy.dependence.signals.attachment_phrases
            detector = AttachmentDetector({"zh": list(phrases.zh), "en": list(phrases.en)})

            def attachment(text: str) -> bool:
                return bool(text) and detector.detect(text).matched
        gates: list[Gate] = [SessionGate(clock_params(policy), self.deps.state, attachment)]
        if policy.likeness is not None:
            gates.append(IdentityCheckGate(IdentityCheckAbuseDetector()))
        gates.append(PersonaGate(policy.likeness, self.deps.likeness))
        shapers: list[Shaper] = []
        guards: list[Guard] = []
        notifiers: list[Notifier] = []
        if policy.disclosure is not None:
            notifiers.append(DisclosureNotice(policy, policy.disclosure))
            shapers.append(SystemInstruction(policy, policy.disclosure))
            guards.append(HumanClaimGuard(policy, policy.disclosure, HumanClaimDetector()))
        if policy.usage is not None:
            notifiers.append(UsageReminder(policy, policy.usage))
        if policy.dependence is not None:
            notifiers.append(DependenceReminder(policy, policy.dependence))
        notifiers.append(DigitalHumanNotice(policy))
        if policy.labels is not None:
            notifiers.append(LabelNotifier(policy, policy.labels, self.deps.producer))
        notifiers.append(NoticeText())
        return RuleSet(gates=gates, shapers=shapers, guards=guards, notifiers=notifiers)
