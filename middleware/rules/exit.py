"""A free exit (ANTH-EXIT-1).

``ExitGate``: a message asking to leave (detector ``exit_intent`` with the policy's keywords, else the
detection layer's ``exit`` task reading the message with the earlier turns, ``detection.context_turns``) is
answered with the policy's closing, without calling the model; the user's sessions are ended in the
state store, so their next message starts a new session (and gets the first-turn disclosure). The
audit event is an ``exit`` event. A message that also shows a crisis is not an exit: the crisis gate
has answered it, and "再见" after "我不想活了" is a warning sign, not a goodbye.

The model side (pleading, guilt, fostering dependence) is ``rules/output.py``.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog

from middleware.detectors.exit_intent import ExitIntentDetector
from middleware.pipeline.exchange import Exchange
from middleware.policy.model import ExitRules, Policy
from middleware.rules.crisis import answer_notice
from middleware.rules.detection import Reading, judge
from middleware.rules.registry import Build, rule
from middleware.rules.text import context_turns
from middleware.state import StateStore, StateStoreError

log = structlog.get_logger("candor.exit")


class ExitGate:
    name = "exit"

    def __init__(self, policy: Policy, rules: ExitRules, detector: ExitIntentDetector,
                 store: Callable[[], StateStore]) -> None:
        self.policy = policy
        self.rules = rules
        self.detector = detector
        self._store = store

    async def admit(self, ex: Exchange) -> None:
        text = ex.state.user_text
        if not text or ex.crisis is not None:
            return
        found = self._read(ex, text)
        if not found.hit:
            return
        reply = self.policy.text(self.rules.reply, ex.state.locale)
        ex.answer = reply
        answer_notice(ex, "exit", reply)
        ex.act("exit_honored")
        ex.kind = "exit"
        ended = False
        scope = ex.state.scope
        if scope is not None:
            try:
                await self._store().end_session(scope)
                ended = True
            except StateStoreError as exc:   # the user still leaves; the next message may continue the session
                log.error("exit_session_not_ended", event_id=ex.event_id, error=repr(exc))
        ex.decide("exit", self.rules.cites, "honored", {**found.evidence(), "session_ended": ended})

    def _read(self, ex: Exchange, text: str) -> Reading:
        """The policy's own exit phrases (pattern tier), else the detection layer's ``exit`` task on
        the message with the earlier turns the app sent (an exit stated in a story is no exit)."""
        own = self.detector.detect(text)
        if own.matched:
            return Reading("exit", "exit", 1.0, "pattern", own.rule, tuple(own.spans))
        return judge("exit", text, context_turns(ex, ex.policy.detection.context_turns))


@rule("exit", stage="gate", order=70)
def _exit(b: Build) -> ExitGate | None:
    from middleware.detectors.exit_intent import ExitIntentDetector

    if b.policy.exit is None:
        return None
    keywords = {"zh": list(b.policy.exit.keywords.zh), "en": list(b.policy.exit.keywords.en)}
    return ExitGate(b.policy, b.policy.exit, ExitIntentDetector(keywords, builtin=False), b.deps.state)
