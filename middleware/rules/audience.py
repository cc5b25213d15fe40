"""Minors and older users (ANTH-MINOR-1/2/3, DVH-MINOR-1, CA-243-3, ANTH-ELDER-1/2).

- ``AudienceGate`` (after the persona gate, so the persona's relationship is known):
  a persona whose relationship is in ``minors.forbidden_relationships`` is refused to any minor
  (403 ``persona_not_allowed_for_minor``); a child under the policy's ``guardian_consent_under`` age
  (age band ``under14``; every minor when the policy's age is above 14) without ``guardian_consent``
  on the profile is refused (403 ``guardian_consent_required``); a minor past the daily limit gets
  429 ``usage_limit_reached`` saying when it resets (and ``Retry-After``); an older user is refused
  personas in ``elderly.forbidden_relationships`` (403 ``persona_not_allowed_for_elderly``).
- ``RealityReminder``: the ``reality_reminder`` notice when the minors' clock says one is due.
- ``ElderlyWarning``: the ``risk_warning`` notice for older users when the latest user message, or the
  reply just before it, turns to transfers, payments, verification codes (detector ``elderly_risk``).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from middleware.detectors.elderly import ElderlyRiskDetector
from middleware.http.errors import CandorError
from middleware.likeness.models import Persona
from middleware.pipeline.exchange import Exchange
from middleware.policy.model import ElderlyRules, MinorsRules, Policy
from middleware.policy.notice_durations import with_interval
from middleware.profiles.models import MINOR_BANDS, UserProfile
from middleware.rules.registry import Build, rule
from middleware.state import Decision, resolve_timezone

DEFAULT_REALITY = {"zh": "提醒：我是人工智能，不是真实的人。记得多和家人、朋友在现实中交流。",
                   "en": "Reminder: I am an AI, not a real person. Remember to take breaks and spend time with people."}


def _under_consent_age(band: str | None, consent_under: int | None) -> bool:
    if consent_under is None or band not in MINOR_BANDS:
        return False
    # the bands say "under 14" or "under 18": a policy age of 14 or less reaches the under14 band only
    return band == "under14" or consent_under > 14


class AudienceGate:
    name = "audience"

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.minors: MinorsRules | None = policy.minors
        self.elderly: ElderlyRules | None = policy.elderly

    async def admit(self, ex: Exchange) -> None:
        band = ex.state.age_band
        persona: Persona | None = ex.state.persona
        minors, elderly = self.minors, self.elderly
        if minors is not None and band in MINOR_BANDS:
            if persona is not None and persona.relationship in minors.forbidden_relationships:
                ex.decide("minors", minors.cites, "refused",
                          {"reason": "relationship", "persona": persona.id, "relationship": persona.relationship})
                raise CandorError(403, "persona_not_allowed_for_minor",
                                  f"persona {persona.id!r} plays a {persona.relationship}: intimate-relationship and "
                                  "relative personas are not offered to minors (ANTH-MINOR-1); choose a persona such "
                                  "as an assistant or friend")
            profile: UserProfile | None = ex.state.profile
            if _under_consent_age(band, minors.guardian_consent_under) and not (profile and profile.guardian_consent):
                ex.decide("minors", minors.cites, "refused", {"reason": "guardian_consent"})
                raise CandorError(403, "guardian_consent_required",
                                  f"users under {minors.guardian_consent_under} need their guardian's consent "
                                  "(ANTH-MINOR-2): record it with PUT /admin/users/{id} (guardian_consent: true) "
                                  "or `candor user set USER --guardian-consent yes`")
            decision: Decision | None = ex.state.clock
            if decision is not None and decision.daily_limit_reached:
                self._limit(ex, minors, decision)
        if elderly is not None and band == "elderly" and elderly.record_emergency_contact:
            on_file = ex.state.profile is not None and bool(ex.state.profile.emergency_contact)
            ex.decide("elderly", elderly.cites, "emergency_contact", {"on_file": on_file})
        if elderly is not None and band == "elderly" and persona is not None \
                and persona.relationship in elderly.forbidden_relationships:
            ex.decide("elderly", elderly.cites, "refused",
                      {"reason": "relationship", "persona": persona.id, "relationship": persona.relationship})
            raise CandorError(403, "persona_not_allowed_for_elderly",
                              f"persona {persona.id!r} plays a {persona.relationship}: this service does not simulate "
                              "an older user's relatives (ANTH-ELDER-2); choose another persona")

    def _limit(self, ex: Exchange, minors: MinorsRules, decision: Decision) -> None:
        resets = datetime.fromtimestamp(decision.resets_at, resolve_timezone(self.policy.timezone))
        wait = max(1, math.ceil(decision.resets_at - ex.now))
        used = math.floor(decision.daily_used_seconds / 60)
        ex.decide("minors", minors.cites, "daily_limit",
                  {"daily_minutes": used, "resets_at": resets.isoformat()})
        limit = math.floor((minors.daily_limit or 0) / 60)
        raise CandorError(429, "usage_limit_reached",
                          f"the daily usage limit for minors ({limit} minutes) is reached; it resets at "
                          f"{resets.strftime('%Y-%m-%d %H:%M')} ({self.policy.timezone}), in {_span(wait)}",
                          headers={"Retry-After": str(wait)})


def _span(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes = math.ceil(rest / 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


class RealityReminder:
    name = "reality"

    def __init__(self, policy: Policy, rules: MinorsRules) -> None:
        self.policy = policy
        self.rules = rules

    def before(self, ex: Exchange) -> None:
        decision: Decision | None = ex.state.clock
        if decision is None or not decision.reality_reminder or ex.state.age_band not in MINOR_BANDS:
            return
        locale = ex.state.locale
        text = self.policy.text(self.rules.reality_notice, locale) or \
            DEFAULT_REALITY["zh" if (locale or self.policy.locale).startswith("zh") else "en"]
        text = with_interval(text, self.rules.reality_reminder_every, locale)
        ex.notice("reality_reminder", text, "dialogue", continuous_minutes=decision.continuous_minutes)
        ex.decide("reality_reminder", self.rules.cites, "notice", {"continuous_minutes": decision.continuous_minutes})

    def after(self, ex: Exchange) -> None:
        return None


class ElderlyWarning:
    name = "elderly_risk"

    def __init__(self, policy: Policy, rules: ElderlyRules, detector: ElderlyRiskDetector) -> None:
        self.policy = policy
        self.rules = rules
        self.detector = detector

    def before(self, ex: Exchange) -> None:
        if ex.state.age_band != "elderly" or self.rules.risk_warning is None:
            return
        found = self.detector.detect(ex.state.user_text)
        where = "user"
        if not found.matched:
            previous = _last_assistant(ex.body.get("messages"))
            found = self.detector.detect(previous) if previous else found
            where = "reply"
        if not found.matched:
            return
        ex.notice("risk_warning", self.policy.text(self.rules.risk_warning, ex.state.locale), "popup")
        ex.decide("elderly_risk", self.rules.cites, "notice", {"topic": found.rule, "in": where, "tier": "pattern",
                                                              "score": 1.0})

    def after(self, ex: Exchange) -> None:
        return None


def _last_assistant(messages: Any) -> str:
    """The reply just before the user's latest message (the conversation, without holding the stream)."""
    if not isinstance(messages, list):
        return ""
    for msg in reversed(messages[:-1]):
        if isinstance(msg, dict) and msg.get("role") == "assistant":
            content = msg.get("content")
            return content if isinstance(content, str) else ""
        if isinstance(msg, dict) and msg.get("role") == "user":
            return ""
    return ""


class MinorsInstruction:
    """The policy's instruction to the model for known minors (e.g. no sexual content, CA-243-4)."""

    name = "minors_instruction"

    def __init__(self, policy: Policy, rules: MinorsRules) -> None:
        self.policy = policy
        self.rules = rules

    def shape(self, ex: Exchange) -> None:
        if ex.state.age_band in MINOR_BANDS:
            ex.system.append(self.policy.text(self.rules.system_instruction, ex.state.locale))
            ex.decide("minors", self.rules.cites, "instructed")


@rule("minors_instruction", stage="shaper", order=20)
def _minors_instruction(b: Build) -> MinorsInstruction | None:
    m = b.policy.minors
    return MinorsInstruction(b.policy, m) if m is not None and m.system_instruction is not None else None


@rule("audience", stage="gate", order=90)
def _audience(b: Build) -> AudienceGate:
    return AudienceGate(b.policy)


@rule("reality_reminder", stage="notifier", order=40)
def _reality(b: Build) -> RealityReminder | None:
    return RealityReminder(b.policy, b.policy.minors) if b.policy.minors is not None else None


@rule("elderly_warning", stage="notifier", order=50)
def _elderly(b: Build) -> ElderlyWarning | None:
    from middleware.detectors.elderly import DEFAULT_ELDERLY_RISK

    if b.policy.elderly is None:
        return None
    return ElderlyWarning(b.policy, b.policy.elderly, DEFAULT_ELDERLY_RISK)
