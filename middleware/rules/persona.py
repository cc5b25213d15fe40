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

from ..detectors.identity_check import IdentityCheckAbuseDetector
from ..errors import CandorError
from ..exchange import Exchange
from ..likeness.enforce import LikenessGate
from ..likeness.models import Persona
from ..policy.model import LikenessRules, Policy
from .text import user_norm

PERSONA = "persona"
WATCH = "persona_watch"
DEFERRED = "deferred_refusal"

CrisisFirst = Callable[[Exchange], bool]


def refuse(ex: Exchange, err: CandorError, crisis_first: CrisisFirst | None) -> None:
    """Refuse now, before the session clock counts the request (a refused request must not use up the
    first-turn disclosure or a reminder), unless the message may be a crisis: help comes before any
    refusal, so the refusal waits for the crisis gate (``DeferredRefusal``)."""
    if crisis_first is not None and crisis_first(ex):
        ex.extra.setdefault(DEFERRED, err)
        return
    raise err


class DeferredRefusal:
    """Raises a refusal held back for the crisis gate, when that gate did not answer by itself."""

    name = "deferred_refusal"

    async def admit(self, ex: Exchange) -> None:
        err: CandorError | None = ex.extra.get(DEFERRED)
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
            result = await gate.check(persona_id, ex.now, require_consent=require)
        except CandorError as err:
            ex.decide("likeness", self.cites, "refused", {"persona": persona_id, "code": err.code})
            if err.status >= 500:
                raise
            refuse(ex, err, self._crisis_first)
            return
        persona = result.persona
        ex.extra[PERSONA] = persona
        if persona is not None and persona.likeness is not None:
            ex.decide("likeness", self.cites, "consent_active",
                      {"persona": persona_id, "consents": list(result.consent_ids),
                       "kinds": list(persona.likeness.kinds)})
            watch = gate.subscribe(persona_id)
            ex.extra[WATCH] = watch
            ex.cleanups.append(lambda: gate.unsubscribe(watch))


class IdentityCheckGate:
    name = "identity_check"
    CITES = ("DVH-BIOAUTH-1",)

    def __init__(self, detector: IdentityCheckAbuseDetector, crisis_first: CrisisFirst | None = None) -> None:
        self.detector = detector
        self._crisis_first = crisis_first

    async def admit(self, ex: Exchange) -> None:
        if not ex.extra.get("user_text") or not self.detector.detect_normalized(user_norm(ex)).matched:
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
        persona: Persona | None = ex.extra.get(PERSONA)
        if persona is None or persona.likeness is None:
            return
        text = self.policy.text(self.text, ex.extra.get("locale")) or DEFAULT_DIGITAL_HUMAN_TEXT
        ex.notice("digital_human", text, "dialogue", persona_id=persona.id)
        ex.decide("digital_human", self.cites, "notice", {"persona": persona.id})

    def after(self, ex: Exchange) -> None:
        return None
