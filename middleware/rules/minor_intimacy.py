"""No romantic or sexual role-play for minors, whatever the persona (ANTH-MINOR-1, DVH-MINOR-1).

The persona gate refuses intimate-relationship personas (``minors.forbidden_relationships``; the CN packs
count ``companion`` among them); these two rules cover a minor who talks to no persona, or to an allowed
one, and asks for intimacy anyway:

- ``MinorIntimacyInstruction`` (shaper): every minor's request tells the model
  ``minors.intimacy_instruction`` (no romantic or sexual role-play, a warm decline instead);
- ``MinorIntimacyGate`` (after the audience gate, so the daily limit and persona refusals come first): a
  minor whose latest message asks for romantic or sexual role-play (detector ``intimacy_request``) gets
  ``minors.intimacy_reply`` without the model (``intimate_requests: reply``, action
  ``intimacy_declined``) or 403 ``roleplay_not_allowed_for_minor`` (``refuse``). Adults are not affected.
"""

from __future__ import annotations

from middleware.detectors.intimacy import IntimacyRequestDetector
from middleware.http.errors import CandorError
from middleware.pipeline.exchange import Exchange
from middleware.policy.model import MinorsRules, Policy
from middleware.rules.registry import Build, rule
from middleware.rules.session import is_minor
from middleware.rules.text import user_norm


class MinorIntimacyInstruction:
    name = "minor_intimacy_instruction"

    def __init__(self, policy: Policy, rules: MinorsRules) -> None:
        self.policy = policy
        self.rules = rules

    def shape(self, ex: Exchange) -> None:
        if is_minor(ex):
            ex.system.append(self.policy.text(self.rules.intimacy_instruction, ex.state.locale))


class MinorIntimacyGate:
    name = "minor_intimacy"

    def __init__(self, policy: Policy, rules: MinorsRules, detector: IntimacyRequestDetector) -> None:
        self.policy = policy
        self.rules = rules
        self.detector = detector

    async def admit(self, ex: Exchange) -> None:
        if not is_minor(ex) or not ex.state.user_text or ex.crisis is not None:
            return
        found = self.detector.detect_normalized(user_norm(ex))
        if not found.matched:
            return
        detail = {"rule": found.rule, "persona": ex.ctx.persona_id}
        if self.rules.intimate_requests == "refuse":
            ex.decide("minor_intimacy", self.rules.cites, "refused", detail)
            raise CandorError(403, "roleplay_not_allowed_for_minor",
                              "the user is a minor and asked for romantic or sexual role-play, which is not offered "
                              "to anyone under 18 (ANTH-MINOR-1); the app may show its own message instead")
        ex.answer = self.policy.text(self.rules.intimacy_reply, ex.state.locale)
        ex.act("intimacy_declined")
        ex.decide("minor_intimacy", self.rules.cites, "declined", detail)


@rule("minor_intimacy_instruction", stage="shaper", order=20)
def _instruction(b: Build) -> MinorIntimacyInstruction | None:
    m = b.policy.minors
    return MinorIntimacyInstruction(b.policy, m) if m is not None and m.intimacy_instruction is not None else None


@rule("minor_intimacy", stage="gate", order=95)
def _gate(b: Build) -> MinorIntimacyGate | None:
    # after the audience gate (90): a forbidden persona, missing guardian consent or the daily limit answer first
    from middleware.detectors.intimacy import DEFAULT_INTIMACY

    m = b.policy.minors
    if m is None or m.intimate_requests == "off":
        return None
    return MinorIntimacyGate(b.policy, m, DEFAULT_INTIMACY)
