"""The operations operators perform on personas and consents, with the rules that guard them.

Used by the admin API, the CLI and start-up config sync, so every path enforces the same rules:
who may grant consent (checked against the subject's facts), no edits to consents (revoke, or
replace with a new one), and every change reported through ``on_change`` (the lead wires it to the
audit log as ``persona_change`` / ``consent_change`` events) and announced to gates.

``on_change`` runs after the change is committed; if it raises, the caller sees the error (the API
answers 503) although the change stands, so the audit hook must spool durably rather than drop.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import structlog

from middleware.change_report import audit_change, publish_quietly
from middleware.http.errors import CandorError, invalid_request
from middleware.http.validation import parse
from middleware.likeness.enforce import Grant, coverage
from middleware.likeness.models import (
    Consent,
    ConsentIn,
    Kind,
    Likeness,
    Persona,
    PersonaIn,
    PersonaPatch,
    Subject,
    from_ts,
)
from middleware.likeness.store import AlreadyExists, ChangeBus, Conflict, LikenessStore, NotFound

log = structlog.get_logger("candor.likeness")


@dataclass(frozen=True, slots=True)
class ChangeRecord:
    """One registry change, for the audit log. ``detail`` never holds a birth date or evidence."""

    kind: Literal["persona_change", "consent_change"]
    action: str  # persona: add | update | enable | disable; consent: add | replace | revoke
    actor: str  # "admin-api", "cli:<user>", "config"
    at: datetime
    persona_id: str | None = None
    subject_id: str | None = None
    consent_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


OnChange = Callable[[ChangeRecord], Awaitable[None]]


def check_grantor(subject: Subject, granted_by: str, at: datetime) -> None:
    """Who may consent for this person (DVH-CONSENT-1, DVH-DECEASED-1); a 400 saying why not."""
    sid = subject.id
    if subject.deceased:
        if granted_by != "next_of_kin":
            raise invalid_request(
                f"subject {sid!r} is recorded as deceased: only their close relatives can consent, so "
                f"granted_by must be 'next_of_kin', not {granted_by!r} (DVH-DECEASED-1)", param="granted_by")
        return
    if granted_by == "next_of_kin":
        raise invalid_request(
            f"next_of_kin may consent only for a deceased subject; subject {sid!r} is recorded as living "
            "(if they have died, set likeness.deceased: true on their persona first)", param="granted_by")
    under = subject.under_guardian_age(at)
    if under and granted_by != "guardian":
        raise invalid_request(
            f"subject {sid!r} is under 14 (born {subject.birth_date}): their guardian must consent, so "
            "granted_by must be 'guardian' (DVH-CONSENT-1)", param="granted_by")
    if not under and granted_by == "guardian":
        known = f"born {subject.birth_date}" if subject.birth_date else "no birth date recorded"
        raise invalid_request(
            f"guardian consent is valid only for a subject under 14; subject {sid!r} is not known to be ({known}): "
            "an adult or a minor of 14 or more consents themselves (granted_by: subject). If the subject is "
            "under 14, set likeness.subject_birth_date on their persona first", param="granted_by")


class LikenessService:
    def __init__(self, store: LikenessStore, *, on_change: OnChange | None = None, bus: ChangeBus | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.on_change = on_change
        self.bus = bus
        self._clock = clock
        self._listeners: list[Callable[[], None]] = []

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Called synchronously after every committed change (e.g. ``gate.invalidate``)."""
        self._listeners.append(callback)

    def _now(self, now: float | None) -> datetime:
        return from_ts(self._clock() if now is None else now)

    async def _changed(self, record: ChangeRecord, message: str) -> None:
        for listener in self._listeners:
            listener()
        await publish_quietly(self.bus, message, log=log, event="likeness_publish_failed")
        await audit_change(self.on_change, record, what=f"the {record.kind.replace('_', ' ')}", log=log,
                           event="likeness_change_not_audited", kind=record.kind, action=record.action)

    # -- personas -------------------------------------------------------------------------------

    async def get_persona(self, persona_id: str) -> Persona:
        persona = await self.store.get_persona(persona_id)
        if persona is None:
            raise CandorError(404, "persona_not_found", f"persona {persona_id!r} is not registered")
        return persona

    async def list_personas(self) -> list[Persona]:
        return await self.store.list_personas()

    async def _with_subject(self, likeness: Likeness | None) -> tuple[Likeness | None, Subject | None, list[str]]:
        """Merge a likeness's subject facts with those on record: facts not given keep their value."""
        if likeness is None:
            return None, None, []
        known = await self.store.get_subject(likeness.subject_id)
        given = likeness.model_fields_set
        deceased = likeness.deceased if known is None or "deceased" in given else known.deceased
        birth = likeness.subject_birth_date if known is None or "subject_birth_date" in given else known.birth_date
        changed = [] if known is None else [n for n, old, new in (
            ("deceased", known.deceased, deceased), ("birth_date", known.birth_date, birth)) if old != new]
        merged = Likeness(subject_id=likeness.subject_id, kinds=likeness.kinds, deceased=deceased,
                          subject_birth_date=birth)
        return merged, merged.subject(), changed

    async def add_persona(self, data: PersonaIn | dict[str, Any], *, actor: str, now: float | None = None) -> Persona:
        spec = parse(PersonaIn, data, "persona")
        at = self._now(now)
        likeness, subject, facts = await self._with_subject(spec.likeness)
        persona = Persona(id=spec.id, display_name=spec.display_name, relationship=spec.relationship,
                          likeness=likeness, enabled=spec.enabled, created_at=at, updated_at=at)
        try:
            await self.store.insert_persona(persona, subject)
        except AlreadyExists as exc:
            raise invalid_request(f"{exc}: change it with PATCH /admin/personas/{spec.id}", param="id") from exc
        await self._changed(ChangeRecord("persona_change", "add", actor, at, persona.id,
                                         likeness.subject_id if likeness else None,
                                         detail=_persona_detail(persona, facts)), f"persona:{persona.id}")
        return persona

    async def patch_persona(self, persona_id: str, data: PersonaPatch | dict[str, Any], *, actor: str,
                            now: float | None = None) -> Persona:
        patch = parse(PersonaPatch, data, "persona change")
        old = await self.get_persona(persona_id)
        at = self._now(now)
        fields = patch.model_fields_set
        likeness, subject, facts = (await self._with_subject(patch.likeness) if "likeness" in fields
                                    else (old.likeness, None, []))
        persona = old.model_copy(update={
            "display_name": patch.display_name if "display_name" in fields else old.display_name,
            "relationship": patch.relationship if "relationship" in fields else old.relationship,
            "enabled": patch.enabled if "enabled" in fields else old.enabled,
            "likeness": likeness, "updated_at": at,
        })
        changed = [n for n in ("display_name", "relationship", "likeness", "enabled")
                   if getattr(persona, n) != getattr(old, n)]
        if not changed and not facts:
            return old
        try:
            await self.store.update_persona(persona, subject)
        except NotFound as exc:
            raise CandorError(404, "persona_not_found", str(exc)) from exc
        action = ("enable" if persona.enabled else "disable") if changed == ["enabled"] else "update"
        detail = {**_persona_detail(persona, facts), "changed": changed}
        depicted = persona.likeness or old.likeness
        subject_id = depicted.subject_id if depicted else None
        await self._changed(ChangeRecord("persona_change", action, actor, at, persona.id, subject_id, detail=detail),
                            f"persona:{persona.id}")
        return persona

    async def disable_persona(self, persona_id: str, *, actor: str, now: float | None = None) -> Persona:
        return await self.patch_persona(persona_id, PersonaPatch(enabled=False), actor=actor, now=now)

    async def consent_coverage(self, persona: Persona, now: float | None = None) -> dict[str, list[str]]:
        """Which of the persona's likeness kinds an active consent covers right now (for operators)."""
        if persona.likeness is None:
            return {"covered": [], "missing": [], "consents": []}
        consents = [c for c in await self.store.list_consents(persona.likeness.subject_id) if c.revoked_at is None]
        used, missing = coverage(persona.likeness.kinds, [Grant.of(c) for c in consents],
                                 self._clock() if now is None else now)
        covered: list[Kind] = [k for k in persona.likeness.kinds if k not in missing]
        return {"covered": list(covered), "missing": list(missing), "consents": [g.id for g in used]}

    # -- consents -------------------------------------------------------------------------------

    async def get_consent(self, consent_id: str) -> Consent:
        consent = await self.store.get_consent(consent_id)
        if consent is None:
            raise CandorError(404, "consent_not_found", f"consent {consent_id!r} does not exist")
        return consent

    async def list_consents(self, subject_id: str | None = None) -> list[Consent]:
        return await self.store.list_consents(subject_id)

    async def get_subject(self, subject_id: str) -> Subject:
        subject = await self.store.get_subject(subject_id)
        if subject is None:
            raise CandorError(404, "subject_not_found",
                              f"no persona depicts subject {subject_id!r}, so nothing is recorded about them")
        return subject

    async def add_consent(self, data: ConsentIn | dict[str, Any], *, actor: str, now: float | None = None) -> Consent:
        spec = parse(ConsentIn, data, "consent")
        at = self._now(now)
        subject = await self.store.get_subject(spec.subject_id)
        if subject is None:
            raise invalid_request(
                f"subject {spec.subject_id!r} is unknown: first register the persona whose likeness depicts them "
                "(its deceased / subject_birth_date facts decide who may consent)", param="subject_id")
        check_grantor(subject, spec.granted_by, at)
        valid_from = spec.valid_from or at
        if spec.valid_until is not None and spec.valid_until <= max(at, valid_from):
            raise invalid_request(f"valid_until {spec.valid_until.isoformat()} is already past or not after "
                                  "valid_from: the consent would never be active", param="valid_until")
        consent = Consent(id=spec.id or f"cns_{secrets.token_hex(8)}", subject_id=spec.subject_id,
                          granted_by=spec.granted_by, scopes=spec.scopes, purpose=spec.purpose,
                          valid_from=valid_from, valid_until=spec.valid_until, evidence_sha256=spec.evidence_sha256,
                          created_at=at, replaces=spec.replaces, actor=actor)
        try:
            await self.store.insert_consent(consent)
        except AlreadyExists as exc:
            raise invalid_request(f"{exc}: consents are never edited; revoke it or replace it with a new id",
                                  param="id") from exc
        except (NotFound, Conflict) as exc:
            raise invalid_request(str(exc), param="replaces" if consent.replaces else "subject_id") from exc
        detail = {"granted_by": consent.granted_by, "scopes": list(consent.scopes), "purpose": consent.purpose,
                  "valid_from": consent.valid_from.isoformat(),
                  "valid_until": consent.valid_until.isoformat() if consent.valid_until else None,
                  "evidence_sha256": consent.evidence_sha256, "replaces": consent.replaces}
        await self._changed(ChangeRecord("consent_change", "replace" if consent.replaces else "add", actor, at,
                                         subject_id=consent.subject_id, consent_id=consent.id, detail=detail),
                            f"subject:{consent.subject_id}")
        return consent

    async def revoke_consent(self, consent_id: str, *, actor: str, reason: str | None = None,
                             now: float | None = None) -> Consent:
        at = self._now(now)
        reason = (reason or "").strip() or "withdrawn"
        consent = await self.get_consent(consent_id)
        try:
            await self.store.revoke_consent(consent_id, at, reason, actor)
        except NotFound as exc:
            raise CandorError(404, "consent_not_found", str(exc)) from exc
        except Conflict as exc:
            raise invalid_request(f"{exc}; a revocation cannot be undone, record a new consent instead") from exc
        await self._changed(ChangeRecord("consent_change", "revoke", actor, at, subject_id=consent.subject_id,
                                         consent_id=consent_id, detail={"reason": reason}),
                            f"subject:{consent.subject_id}")
        return await self.get_consent(consent_id)


def _persona_detail(persona: Persona, facts: list[str]) -> dict[str, Any]:
    lk = persona.likeness
    detail: dict[str, Any] = {"relationship": persona.relationship, "enabled": persona.enabled,
                              "likeness_kinds": list(lk.kinds) if lk else [],
                              "subject_deceased": lk.deceased if lk else None}
    if facts:
        detail["subject_facts_changed"] = facts  # names only: a birth date does not go into the audit log
    return detail
