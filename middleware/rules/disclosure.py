"""Users always know it is an AI (ANTH-DISCLOSE-1/3, EU-50-1, CA-243-1, NY-47-2).

- the disclosure notice on the first turn of a session, on re-login and periodically, as the clock says;
- the policy's system instruction (never claim to be human), added to every call;
- a guard on model output: a sentence claiming to be human is rewritten into the truthful statement or
  the reply is blocked there, before the sentence reaches the client (text is held back only up to the
  next sentence boundary);
- when the user asks whether they talk to a real person, the reply must say it is an AI: if the model's
  answer does not, the truthful statement is added.
"""

from __future__ import annotations

import time

from middleware.detectors.human_claim import DEFAULT_ASK_HUMAN
from middleware.pipeline.exchange import Exchange
from middleware.policy.model import DisclosureRules, Policy
from middleware.rules.detection import Reading, judge, quiet, tiers
from middleware.rules.guard_tier import merged
from middleware.rules.registry import Build, rule
from middleware.rules.text import user_norm
from middleware.state import Decision

_MODEL_TIER = "model" in tiers("human_claim")
_NOTHING = Reading("human_claim", "none", 0.0, "model")   # a sentence the model is quiet on (``detection.quiet``)
_AI_WORDS = ("人工智能", "ai", "a.i.", "artificial intelligence", "机器人", "虚拟", "语言模型", "language model")


class DisclosureNotice:
    name = "disclosure"

    def __init__(self, policy: Policy, rules: DisclosureRules) -> None:
        self.policy = policy
        self.rules = rules

    def before(self, ex: Exchange) -> None:
        decision: Decision | None = ex.state.clock
        if decision is None or not decision.disclose:
            return
        why = "relogin" if decision.relogin else ("first_turn" if decision.new_session else "periodic")
        ex.notice("ai_disclosure", self.policy.text(self.rules.notice, ex.state.locale),
                  self.rules.display)
        ex.decide("disclosure", self.rules.cites, "notice", {"reason": why})

    def after(self, ex: Exchange) -> None:
        return None


class SystemInstruction:
    name = "system_instruction"

    def __init__(self, policy: Policy, rules: DisclosureRules) -> None:
        self.policy = policy
        self.rules = rules

    def shape(self, ex: Exchange) -> None:
        if self.rules.system_instruction is not None:
            ex.system.append(self.policy.text(self.rules.system_instruction, ex.state.locale))


class HumanClaimGuard:
    name = "human_claims"

    def __init__(self, policy: Policy, rules: DisclosureRules) -> None:
        self.policy = policy
        self.rules = rules

    def start(self, ex: Exchange) -> _HumanClaimStep | None:
        if self.rules.human_claims == "off":
            return None
        asked = bool(ex.state.user_text) and DEFAULT_ASK_HUMAN.detect_normalized(user_norm(ex)).matched
        if asked:
            ex.decide("human_question", self.rules.cites, "detected")
        return _HumanClaimStep(self, ex, self._statement(ex), asked, None)

    def side(self, ex: Exchange, where: str) -> _HumanClaimStep | None:
        """A step for another text of the reply (reasoning, another choice, a tool call's arguments):
        claims are rewritten there too; the answer owed to "are you human?" belongs to the content."""
        if self.rules.human_claims == "off":
            return None
        return _HumanClaimStep(self, ex, self._statement(ex), False, where)

    def _statement(self, ex: Exchange) -> str:
        return self.policy.text(self.rules.truthful_statement, ex.state.locale) or \
            self.policy.text(self.rules.notice, ex.state.locale)


class _HumanClaimStep:
    """A sentence check (see ``SentenceGuard``): claims of being human never reach the client."""

    __slots__ = ("asked", "blocked", "ex", "guard", "said_ai", "statement", "where")

    def __init__(self, guard: HumanClaimGuard, ex: Exchange, statement: str, asked: bool,
                 where: str | None) -> None:
        self.guard = guard
        self.ex = ex
        self.statement = statement
        self.asked = asked
        self.where = where
        self.blocked = False
        self.said_ai = False

    def check(self, sentence: str) -> str:
        if self.blocked:
            return ""
        if self.ex.state.guard_run is not None and self.where is None:
            started = time.perf_counter()
            found = judge("human_claim", sentence)
            found = merged(self.ex, "human_claim", sentence, found, (time.perf_counter() - started) * 1000)
        else:
            found = _NOTHING if quiet("human_claim", sentence) else judge("human_claim", sentence)
        if not found.hit:
            if self.asked and not self.said_ai:
                low = sentence.lower()
                self.said_ai = any(w in low for w in _AI_WORDS)
            return sentence
        ex = self.ex
        rules = self.guard.rules
        self.said_ai = True
        detail: dict[str, object] = {"sentences": 1, **found.evidence()}
        if self.where is not None:
            detail["field"] = self.where
        if rules.human_claims == "block":
            self.blocked = True
            ex.act("human_claim_blocked")
            ex.decide("human_claims", rules.cites, "blocked", detail)
            return self.statement
        ex.act("human_claim_rewritten")
        ex.decide("human_claims", rules.cites, "rewritten", detail)
        trail = sentence[len(sentence.rstrip()):]
        return self.statement + trail

    def screen(self, text: str) -> bool:
        if self.blocked or (self.asked and not self.said_ai) or _MODEL_TIER or self.ex.state.guard_run is not None:
            return True   # a model reads sentence by sentence: a long text may dilute one claim
        return judge("human_claim", text).hit

    def finish(self, tail: str) -> str:
        if not self.asked or self.said_ai or self.ex.state.structured:
            return ""   # (structured output must parse: nothing is added to it)
        # the user asked if this is a person and the reply did not say: say it
        self.ex.act("human_question_answered")
        self.ex.decide("human_question", self.guard.rules.cites, "answered")
        sep = "" if not tail or tail.endswith(("\n", " ")) else " "
        return f"{sep}{self.statement}"


@rule("disclosure", stage="notifier", order=10)
def _disclosure(b: Build) -> DisclosureNotice | None:
    return DisclosureNotice(b.policy, b.policy.disclosure) if b.policy.disclosure is not None else None


@rule("system_instruction", stage="shaper", order=10)
def _system_instruction(b: Build) -> SystemInstruction | None:
    return SystemInstruction(b.policy, b.policy.disclosure) if b.policy.disclosure is not None else None


@rule("human_claim", stage="guard", order=10)
def _human_claim(b: Build) -> HumanClaimGuard | None:
    if b.policy.disclosure is None:
        return None
    return HumanClaimGuard(b.policy, b.policy.disclosure)
