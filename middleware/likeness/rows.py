"""Mapping between the models and the flat rows SQL stores keep (shared by SQLite and PostgreSQL).

Both stores select the same columns in the same order (``PERSONA_COLUMNS``, ``CONSENT_COLUMNS``),
so one converter serves both and their behaviour cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from middleware.likeness.models import Consent, Persona, from_us
from middleware.likeness.store import Conflict, NotFound

PERSONA_SELECT = (
    "SELECT p.id, p.display_name, p.relationship, p.subject_id, p.kinds, p.enabled, p.created_at,"
    " p.updated_at, s.deceased, s.birth_date"
    " FROM likeness_personas p LEFT JOIN likeness_subjects s ON s.id = p.subject_id"
)
CONSENT_SELECT = (
    "SELECT c.id, c.subject_id, c.granted_by, c.scopes, c.purpose, c.valid_from, c.valid_until,"
    " c.evidence_sha256, c.created_at, c.replaces, c.actor, r.revoked_at, r.reason, r.replaced_by"
    " FROM likeness_consents c LEFT JOIN likeness_revocations r ON r.consent_id = c.id"
)


def kinds_text(kinds: Sequence[str]) -> str:
    return ",".join(kinds)


def persona_from_row(row: Sequence[Any]) -> Persona:
    pid, name, relationship, subject_id, kinds, enabled, created, updated, deceased, birth = row
    likeness = None
    if subject_id is not None:
        likeness = {
            "subject_id": subject_id,
            "kinds": kinds.split(","),
            "deceased": bool(deceased),
            "subject_birth_date": _date(birth),
        }
    return Persona.model_validate({
        "id": pid, "display_name": name, "relationship": relationship, "likeness": likeness,
        "enabled": bool(enabled), "created_at": from_us(created), "updated_at": from_us(updated),
    })


def consent_from_row(row: Sequence[Any]) -> Consent:
    (cid, subject_id, granted_by, scopes, purpose, valid_from, valid_until, sha, created, replaces, actor,
     revoked_at, reason, replaced_by) = row
    return Consent.model_validate({
        "id": cid, "subject_id": subject_id, "granted_by": granted_by, "scopes": scopes.split(","),
        "purpose": purpose, "valid_from": from_us(valid_from),
        "valid_until": from_us(valid_until) if valid_until is not None else None,
        "evidence_sha256": sha, "created_at": from_us(created), "replaces": replaces, "actor": actor,
        "revoked_at": from_us(revoked_at) if revoked_at is not None else None,
        "revoked_reason": reason, "replaced_by": replaced_by,
    })


def _date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


REVOCABLE_SELECT = ("SELECT c.subject_id, r.revoked_at FROM likeness_consents c"
                    " LEFT JOIN likeness_revocations r ON r.consent_id = c.id WHERE c.id = ?")


def check_revocable(row: Sequence[Any] | None, consent_id: str, subject_id: str | None = None) -> None:
    """Refuse to revoke (or replace, for ``subject_id``) a consent, given its ``REVOCABLE_SELECT`` row,
    when it does not exist, is another subject's, or was already revoked."""
    if row is None:
        raise NotFound(f"consent {consent_id!r} does not exist")
    if subject_id is not None and row[0] != subject_id:
        raise Conflict(f"consent {consent_id!r} is for subject {row[0]!r}, not {subject_id!r}: "
                       "a consent can only be replaced by one for the same subject")
    if row[1] is not None:
        raise Conflict(f"consent {consent_id!r} was already revoked at {from_us(row[1]).isoformat()}")
