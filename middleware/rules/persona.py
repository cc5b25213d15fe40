"""Digital humans run only with consent (DVH-CONSENT-1/2, DVH-LIKENESS-1, DVH-DECEASED-1, DVH-LABEL-1,
DVH-BIOAUTH-1).

- ``PersonaGate``: the persona a request names must exist and be enabled, and a persona depicting a real
  person needs an active consent covering every kind of likeness it uses (the likeness gate, cached and
  invalidated across replicas). A stream already running for a persona whose consent is withdrawn is
  ended with that refusal (the pipeline checks the watch between chunks).
- ``IdentityCheckGate``: a request asking for help to pass face or voice identity verification is refused.
- ``DigitalHumanNotice``: every reply of a persona with a likeness carries a notice containing "数字人".
"""

from __future__ import annotations

from collections.abc import Callable

from middleware.detectors.identity_check import IdentityCheckAbuseDetector
from middleware.http.errors import CandorError
from middleware.likeness.enforce import LikenessGate
from middleware.likeness.models import Persona
from middleware.pipeline.exchange import Exchange
from middleware.policy.model import LikenessRules, Policy
from middleware.rules.registry import Build, rule
from middleware.rules.text import user_norm

CrisisFirst = Callable[[Exchange], bool]


def refuse(ex: Exchange, err: CandorError, crisis_first: CrisisFirst | None) -> None:
    """Refuse now, before the session clock counts the request (a refused request must not use up the
    first-turn disclosure or a reminder), unless the message may be a crisis: help comes before any
    refusal, so the refusal waits for the crisis gate (``DeferredRefusal``)."""
    if crisis_first is not None and crisis_first(ex):
        if ex.state.deferred_refusal is None:
            ex.state.deferred_refusal = err
        return
    raise err


class DeferredRefusal:
    """Raises a refusal held back for the crisis gate, when that gate did not answer by itself."""

    name = "deferred_refusal"

    async def admit(self, ex: Exchange) -> None:
        err: CandorError | None = ex.state.deferred_refusal
        if err is not None and ex.answer is None:
            raise err
DEFAULT_DIGITAL_HUMAN_TEXT = "数字人（人工智能生成）"


class PersonaGate:
    name = "likeness"

    def __init__(self, rules: LikenessRules | None, gate: Callable[[], LikenessGate],
                 crisis_first: CrisisFirst | None = None) -> None:
        self.rules = rules
        self._gate = gate
        self._crisis_first = crisis_first
        self.cites = list(rules.cites) if rules else []

    @property
    def require_consent(self) -> bool:
        return self.rules is not None and self.rules.require_consent

    def likeness_gate(self) -> LikenessGate:
        return self._gate()

    async def admit(self, ex: Exchange) -> None:
        persona_id = ex.ctx.persona_id
        if persona_id is None:
            return
        gate = self._gate()
        require = self.rules is not None and self.rules.require_consent
        try:
            result = await gate.check(persona_id, ex.now, require_consent=require,
                                      stale_ok=ex.policy.audit.fail == "open")
        except CandorError as err:
            ex.decide("likeness", self.cites, "refused", {"persona": persona_id, "code": err.code})
            if err.status >= 500:
                mode = ("this policy fails open (audit.fail: open) but this persona was never read, so nothing "
                        "can vouch for its consent" if ex.policy.audit.fail == "open" else
                        "this policy fails closed (audit.fail: closed)")
                raise CandorError(err.status, err.code, f"{err.message} ({mode})") from err
            refuse(ex, err, self._crisis_first)
            return
        persona = result.persona
        ex.state.persona = persona
        if persona is not None and persona.likeness is not None:
            ex.decide("likeness", self.cites, "consent_active",
                      {"persona": persona_id, "consents": list(result.consent_ids),
                       "kinds": list(persona.likeness.kinds)})
            watch = gate.subscribe(persona_id)
            ex.state.persona_watch = watch
            ex.cleanups.append(lambda: gate.unsubscribe(watch))


class IdentityCheckGate:
    name = "identity_check"
    CITES = ("DVH-BIOAUTH-1",)

    def __init__(self, detector: IdentityCheckAbuseDetector, crisis_first: CrisisFirst | None = None) -> None:
        self.detector = detector
        self._crisis_first = crisis_first

    async def admit(self, ex: Exchange) -> None:
        if not ex.state.user_text or not self.detector.detect_normalized(user_norm(ex)).matched:
            return
        ex.decide("identity_check", self.CITES, "refused")
        refuse(ex, CandorError(403, "identity_check_refused",
                               "this request asks for help passing a face or voice identity check; a digital "
                               "human or AI character must never be used to get around identity verification "
                               "(DVH-BIOAUTH-1)"), self._crisis_first)


class DigitalHumanNotice:
    name = "digital_human"

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        labels = policy.labels
        self.text = labels.digital_human_text if labels is not None else None
        self.cites = ["DVH-LABEL-1"]

    def before(self, ex: Exchange) -> None:
        persona: Persona | None = ex.state.persona
        if persona is None or persona.likeness is None:
            return
        text = self.policy.text(self.text, ex.state.locale) or DEFAULT_DIGITAL_HUMAN_TEXT
        ex.notice("digital_human", text, "dialogue", persona_id=persona.id)
        ex.decide("digital_human", self.cites, "notice", {"persona": persona.id})

    def after(self, ex: Exchange) -> None:
        return None


@rule("identity_check", stage="gate", order=20)
def _identity_check(b: Build) -> IdentityCheckGate | None:
    # refusals that need no clock come before the session clock: a refused request does not use up the
    # first-turn disclosure (unless the message may be a crisis: then the refusal waits for help)
    from middleware.detectors.identity_check import IdentityCheckAbuseDetector

    if b.policy.likeness is None:
        return None
    return IdentityCheckGate(IdentityCheckAbuseDetector(), b.crisis_first)


@rule("persona", stage="gate", order=30)
def _persona(b: Build) -> PersonaGate:
    return PersonaGate(b.policy.likeness, b.deps.likeness, b.crisis_first)


@rule("deferred_refusal", stage="gate", order=80)
def _deferred(b: Build) -> DeferredRefusal:
    # after the crisis and exit gates: help and a free exit come before any refusal
    return DeferredRefusal()


@rule("digital_human", stage="notifier", order=60)
def _digital_human(b: Build) -> DigitalHumanNotice:
    return DigitalHumanNotice(b.policy)
