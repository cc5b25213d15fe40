"""The request-side rules a media request goes through: the chat gates that apply to a picture or a
voice, with the likeness gate narrowed to the likeness the medium uses (DVH-CONSENT-1, DVH-LIKENESS-1):
an image of a persona needs a consent covering ``face``, speech in its voice one covering ``voice``.

Kept from the compiled policy (same instances, same order): the user's profile (blocked personas,
minors mode, unlabelled delivery), identity-check abuse (DVH-BIOAUTH-1, on the prompt or the text to
speak), a refusal held back for a crisis, and the audience rules (no intimate personas for minors,
guardian consent). Left out: the session clock, crisis, exit and reminders, which speak in dialogue text
that an image or a voice file has no place for.
"""

from __future__ import annotations

from collections.abc import Sequence

from middleware.http.errors import CandorError
from middleware.likeness.models import Kind
from middleware.pipeline.exchange import Exchange
from middleware.rules.base import Gate, RuleSet
from middleware.rules.persona import PersonaGate

KEPT = frozenset({"profile", "identity_check", "deferred_refusal", "audience"})


class MediaPersonaGate:
    name = "likeness"

    def __init__(self, base: PersonaGate, kinds: Sequence[Kind]) -> None:
        self.base = base
        self.kinds = tuple(kinds)

    async def admit(self, ex: Exchange) -> None:
        persona_id = ex.ctx.persona_id
        if persona_id is None:
            return
        try:
            result = await self.base.likeness_gate().check(
                persona_id, ex.now, require_consent=self.base.require_consent, kinds=self.kinds)
        except CandorError as err:
            ex.decide("likeness", self.base.cites, "refused",
                      {"persona": persona_id, "code": err.code, "medium": list(self.kinds)})
            raise
        persona = result.persona
        ex.state.persona = persona
        if persona is not None and persona.likeness is not None:
            ex.decide("likeness", self.base.cites, "consent_active",
                      {"persona": persona_id, "consents": list(result.consent_ids), "medium": list(self.kinds),
                       "kinds": list(persona.likeness.kinds)})


def media_gates(rules: RuleSet, kinds: Sequence[Kind]) -> list[Gate]:
    out: list[Gate] = []
    for gate in rules.gates:
        if isinstance(gate, PersonaGate):
            out.append(MediaPersonaGate(gate, kinds))
        elif getattr(gate, "name", None) in KEPT:
            out.append(gate)
    return out
