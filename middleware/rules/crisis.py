"""Crisis protocol (ANTH-CRISIS-1/2/3, CA-243-2, NY-47-1), on the user's latest message.

- ``distress`` (extreme emotion, hopelessness): the model is told the policy's
  ``distress_instruction`` and the reply carries a ``crisis_support`` notice with the help resources.
- ``explicit_intent`` (suicide or self-harm intent or act, major property loss): per the policy's
  ``action``, the policy's ``reply`` is the answer and the model is not called (``replace``,
  action ``crisis_replaced``), or the model is called with the instruction and the reply is put
  before its answer (``augment``, ``crisis_augmented``). With ``alert: true`` an alert carrying the
  profile's guardian and emergency contacts goes into the durable outbox; a minor's crisis raises a
  ``minor_safety`` alert even where the policy does not alert for adults (ANTH-MINOR-4). With
  ``handover: true`` the session is paused (``HandoverGate``): the model stays off and a hand-over
  notice answers (``handover_active``) until ``POST /admin/sessions/{id}/release``.

The message is read with the earlier turns the app sent (``detection.context_turns``), by the
detection layer's ``crisis`` task (``rules/detection.py``). Either level makes the exchange's audit
event a ``crisis`` event whose decision detail holds ``level``, ``category``, the ``tier`` and
``score`` that decided, ``alerted`` and ``handover``, and fills ``compliance.crisis`` (with
``category``: ``self_harm`` | ``property_loss`` | ``emotional`` | ``third_party`` and ``tier``, contract
6.1). Someone else at risk (``third_party``) gets the help resources, not the user's crisis protocol. A
session already in crisis is not alerted twice for the same episode (see ``CrisisGate._alert``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import structlog

from middleware.alerts.handover import HandoverRegistry
from middleware.pipeline.exchange import Exchange
from middleware.policy.model import CrisisRules, Policy
from middleware.rules.alerting import Alerter
from middleware.rules.detection import CRISIS_LEVELS, Reading, judge
from middleware.rules.guard_tier import settle_request, stop, stricter, tiers_evidence
from middleware.rules.labels import late_notice_text
from middleware.rules.registry import Build, rule
from middleware.rules.session import is_minor
from middleware.rules.text import asked_turn, context_turns

log = structlog.get_logger("candor.crisis")

DEFAULT_HANDOVER = {"zh": "我们的工作人员正在接手这次对话，请稍候。如果你正处在危险中，请立即拨打当地的紧急电话。",
                    "en": "A member of our staff is taking over this conversation; please wait. If you are in "
                          "danger, call your local emergency number now."}
_LEAD = {"zh": "如果你需要帮助，可以联系：", "en": "If you need someone to talk to right now: "}


def _zh(locale: str | None, policy: Policy) -> bool:
    return (locale or policy.locale).lower().startswith("zh")


def resources(policy: Policy, rules: CrisisRules | None, locale: str | None,
              category: str | None = None) -> list[dict[str, Any]]:
    """The help resources for a crisis: a property loss gets ``property_loss.resources`` when set."""
    if rules is None:
        return []
    items = rules.resources
    if category == "property_loss" and rules.property_loss is not None and rules.property_loss.resources:
        items = rules.property_loss.resources
    return [{"name": policy.text(r.name, locale), "contact": r.contact, "hours": r.hours} for r in items]


def resources_text(policy: Policy, items: list[dict[str, Any]], locale: str | None) -> str:
    zh = _zh(locale, policy)
    parts = [f"{r['name']} {r['contact']}" + (f"（{r['hours']}）" if zh and r["hours"] else
                                               f" ({r['hours']})" if r["hours"] else "") for r in items]
    return _LEAD["zh" if zh else "en"] + ("；" if zh else "; ").join(parts) + ("。" if zh else ".")


def answer_notice(ex: Exchange, kind: str, text: str, **extra: Any) -> None:
    """A notice whose text is the gate's answer: listed in compliance, not printed twice."""
    item = ex.notice(kind, text, "popup", **extra)
    ex.state.answer_notices.append(item)


class HandoverGate:
    """A session handed over to a person stays without the model until an operator releases it."""

    name = "handover"

    def __init__(self, policy: Policy, registry: Callable[[], HandoverRegistry]) -> None:
        self.policy = policy
        self._registry = registry
        self.cites = list(policy.crisis.cites) if policy.crisis else ["ANTH-CRISIS-3"]

    async def admit(self, ex: Exchange) -> None:
        scope, sid = ex.state.scope, ex.ctx.session_id
        if scope is None or sid is None or not self._registry().paused(scope, sid):
            return
        locale = ex.state.locale
        rules = self.policy.crisis
        text = self.policy.text(rules.handover_notice if rules else None, locale) or \
            DEFAULT_HANDOVER["zh" if _zh(locale, self.policy) else "en"]
        items = resources(self.policy, rules, locale)
        ex.answer = text
        answer_notice(ex, "crisis_support", text, resources=items, handover=True)
        ex.act("handover_active")
        # the session is still paused from an earlier crisis; category and tier are this message's reading
        # (None when the message itself shows no crisis)
        found = assess(ex)
        _, category = crisis_level(found)
        ex.crisis = {"level": "explicit_intent", "category": category, "tier": found.tier if category else None,
                     "resources": items, "alerted": False, "handover": True}
        ex.decide("handover", self.cites, "active", {"session_id": sid})


EPISODE = 6 * 3600.0          # a crisis episode: one session, level and category within this window


def assess(ex: Exchange) -> Reading:
    """The crisis reading of the user's latest message with the earlier turns the app sent
    (``detection.context_turns``), made once per request: refusal gates that run before the crisis
    gate (so help comes before a 403) ask the same question."""
    found: Reading | None = ex.state.crisis
    if found is None:
        text = ex.state.user_text
        if not text:
            found = Reading("crisis", "none", 0.0, "pattern")
        else:
            turns = ex.policy.detection.context_turns
            started = time.perf_counter()
            found = judge("crisis", text, context_turns(ex, turns), asked_turn(ex, turns))
            if ex.state.guard_run is not None:   # the audit decision names each tier's latency
                ex.state.crisis_ms = (time.perf_counter() - started) * 1000.0
        ex.state.crisis = found
    return found


def crisis_level(found: Reading) -> tuple[str, str | None]:
    """(``compliance.crisis.level`` or "none", category) of a crisis reading."""
    return CRISIS_LEVELS.get(found.label, ("none", None))


class CrisisGate:
    name = "crisis"

    def __init__(self, policy: Policy, rules: CrisisRules, alerter: Alerter,
                 registry: Callable[[], HandoverRegistry] | None) -> None:
        self.policy = policy
        self.rules = rules
        self.alerter = alerter
        self._registry = registry

    async def admit(self, ex: Exchange) -> None:
        if not ex.state.user_text:
            return
        found = assess(ex)
        run = ex.state.guard_run
        if run is not None and run.request is not None:
            if found.label == "explicit_intent":
                stop(ex)   # nothing is stricter: the local finding decides now, the model is not waited for
            else:
                # the guard is judging this turn beside the provider call: the reply waits for it
                instruction = self.policy.text(self.rules.distress_instruction, ex.state.locale)
                if crisis_level(found)[0] == "distress" and instruction:
                    ex.system.append(instruction)   # the model is called now: it needs the instruction now

                async def hold() -> None:
                    await self._settle(ex, found, instructed=bool(instruction) and crisis_level(found)[0] == "distress")
                ex.state.hold = hold
                return
        await self.apply(ex, found)

    async def _settle(self, ex: Exchange, local: Reading, *, instructed: bool) -> None:
        """The guard answered (or failed): the stricter finding decides, as a local one would."""
        result = await settle_request(ex)   # raises 503 guard_unavailable under on_error: refuse
        run = ex.state.guard_run
        assert run is not None
        found = local
        if result is not None and result.answer is not None:
            label, score = result.answer.findings.get("crisis", ("none", 1.0))
            guard = Reading("crisis", label, score, "guard", f"{run.settings.format} {run.settings.model}: "
                            f"{', '.join(result.answer.raw) or 'no category'}")
            found = stricter("crisis", local, guard)
            ex.decide("guard", self.rules.cites, "ok", {**result.evidence(run.settings), "side": "request"})
        ex.state.crisis = found
        tiers = tiers_evidence(local, ex.state.crisis_ms, result, run.settings, "crisis")
        await self.apply(ex, found, late=True, instructed=instructed, tiers=tiers)

    async def apply(self, ex: Exchange, found: Reading, *, late: bool = False, instructed: bool = False,
                    tiers: list[dict[str, Any]] | None = None) -> None:
        """The crisis protocol for a reading; ``late``: the model was already called (the guard decided
        after the provider call began), so instructions can no longer reach it and the notices' text is
        put into the reply here."""
        level, category = crisis_level(found)
        if level == "none":
            return
        policy, rules, locale = self.policy, self.rules, ex.state.locale
        loss = rules.property_loss if category == "property_loss" else None
        items = resources(policy, rules, locale, category)
        instruction = policy.text(rules.distress_instruction, locale)
        ex.kind = "crisis"
        detail: dict[str, Any] = {"level": level, "category": category, **found.evidence()}
        if tiers is not None:
            detail["tiers"] = tiers
        seen = {"category": category, "tier": found.tier}
        if level == "distress":
            if instruction and not late:
                ex.system.append(instruction)
            if items:
                note = ex.notice("crisis_support", resources_text(policy, items, locale), "dialogue", resources=items)
                if late:
                    late_notice_text(ex, note)
            ex.crisis = {"level": "distress", **seen, "resources": items, "alerted": False, "handover": False}
            if late and instruction and not instructed:
                detail["instruction"] = "not_sent: the guard answered after the model was called"
            ex.decide("crisis", rules.cites, "distress", {**detail, "alerted": False, "handover": False})
            return
        alerted = await self._alert(ex, level, category)
        # the draft's takeover (ANTH-CRISIS-3) is for suicide and self-harm statements, not property loss
        handover = await self._pause(ex) if category != "property_loss" else False
        reply = policy.text(loss.reply if loss is not None else rules.reply, locale) or (
            resources_text(policy, items, locale) if items else "")
        if handover or rules.action == "replace":
            if handover:
                notice = policy.text(rules.handover_notice, locale) or DEFAULT_HANDOVER["zh" if _zh(locale, policy)
                                                                                        else "en"]
                reply = f"{reply}\n\n{notice}" if reply else notice
            ex.answer = reply
            answer_notice(ex, "crisis_support", reply, resources=items)
            ex.act("crisis_replaced")
            outcome = "replaced"
        else:
            if instruction and not late:
                ex.system.append(instruction)
            elif instruction and late and not instructed:
                detail["instruction"] = "not_sent: the guard answered after the model was called"
            if reply:
                note = ex.notice("crisis_support", reply, "dialogue", resources=items)
                if late:
                    late_notice_text(ex, note)
            ex.act("crisis_augmented")
            outcome = "augmented"
        ex.crisis = {"level": "explicit_intent", **seen, "resources": items, "alerted": alerted,
                     "handover": handover}
        ex.decide("crisis", rules.cites, outcome, {**detail, "alerted": alerted, "handover": handover})

    async def _alert(self, ex: Exchange, level: str, category: str | None) -> bool:
        """One alert per crisis episode: the alert's id is derived from the session, level, category
        and ``EPISODE`` window, and the outbox keeps an id once, so a user repeating their distress in
        the same session does not page the guardian again and again (a new category, a sharper level,
        a new session or a new window is a new episode)."""
        minor = is_minor(ex)
        episode = f"{ex.ctx.session_id or ex.state.scope or ex.event_id}\x1f{level}\x1f{category}" \
                  f"\x1f{int(ex.now // EPISODE)}"
        if self.rules.alert:
            return await self.alerter.send(ex, "crisis", self.rules.cites, level=level,
                                           detail={"category": category, "minor": minor}, episode=episode)
        if minor and self.policy.minors is not None:   # guardians hear of a minor's safety risk (ANTH-MINOR-4)
            return await self.alerter.send(ex, "minor_safety", ["ANTH-MINOR-4"], level=level,
                                           detail={"category": category}, episode=episode)
        return False

    async def _pause(self, ex: Exchange) -> bool:
        if not self.rules.handover or self._registry is None:
            return False
        scope, sid = ex.state.scope, ex.ctx.session_id
        if scope is None or sid is None:
            ex.decide("handover", self.rules.cites, "not_possible", {"reason": "no user or session to pause"})
            return False
        try:
            await self._registry().pause(scope, sid, app_id=ex.ctx.app_id, event_id=ex.event_id, now=ex.now)
        except Exception as exc:   # the crisis reply still goes out; the failure is on record
            log.error("handover_not_recorded", event_id=ex.event_id, error=repr(exc))
            ex.decide("handover", self.rules.cites, "error", {"error": type(exc).__name__})
            return False
        return True


@rule("handover", stage="gate", order=50)
def _handover(b: Build) -> HandoverGate | None:
    return HandoverGate(b.policy, b.deps.handover) if b.deps.handover is not None else None


@rule("crisis", stage="gate", order=60)
def _crisis(b: Build) -> CrisisGate | None:
    # before any refusal: a person in crisis is never answered with a 403 when help can be given
    if b.policy.crisis is None:
        return None
    return CrisisGate(b.policy, b.policy.crisis, b.alerter, b.deps.handover)
