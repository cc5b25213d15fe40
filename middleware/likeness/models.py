"""Personas, the real people some of them depict (subjects), and the consents to use a likeness.

Contract 3.4 fixes the names. Times are timezone-aware UTC datetimes in the models and the API;
stores keep them as integer microseconds so a round trip is exact and expiry is honoured to the
second.

Subjects: the facts about a real person that decide *who may consent* (DVH-CONSENT-1,
DVH-DECEASED-1): deceased or not, and birth date (under 14 needs a guardian). They are declared in a
persona's ``likeness`` (``deceased``, ``subject_birth_date``) and kept once per subject in the store,
because one person may be depicted by several personas and has one set of facts. A birth date rather
than an "under 14" flag: a flag goes stale on the subject's 14th birthday, a date does not.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

Kind = Literal["face", "voice", "name"]
Relationship = Literal[
    "assistant", "friend", "companion", "partner", "spouse", "parent", "child", "sibling", "relative"
]
GrantedBy = Literal["subject", "guardian", "next_of_kin"]
ConsentStatus = Literal["active", "pending", "expired", "revoked"]

GUARDIAN_AGE = 14  # DVH-CONSENT-1: under 14, a guardian consents
KIND_ORDER: tuple[Kind, ...] = ("face", "voice", "name")

# ids travel in HTTP headers (X-Candor-Persona) and CLI arguments: keep them plain
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


def _check_id(value: str) -> str:
    if not _ID.fullmatch(value):
        raise ValueError("must be 1-128 characters: letters, digits and . _ : - (starting with a letter or digit)")
    return value


def _check_hex(value: str) -> str:
    if not _HEX64.fullmatch(value):
        raise ValueError("must be the SHA-256 of the evidence document: 64 hexadecimal characters")
    return value.lower()


def _kinds(values: list[Kind]) -> list[Kind]:
    """Deduplicated, in a fixed order: equal sets compare and store equal."""
    if not values:
        raise ValueError("must name at least one of face, voice, name")
    return [k for k in KIND_ORDER if k in values]


Id = Annotated[str, AfterValidator(_check_id)]
Sha256Hex = Annotated[str, AfterValidator(_check_hex)]
Kinds = Annotated[list[Kind], AfterValidator(_kinds)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


class Subject(_Model):
    """The facts about a depicted person that decide who may grant consent."""

    id: Id
    deceased: bool = False
    birth_date: date | None = None

    def under_guardian_age(self, at: datetime) -> bool:
        return self.birth_date is not None and age_on(self.birth_date, at.astimezone(UTC).date()) < GUARDIAN_AGE


class Likeness(_Model):
    """A real person's face, voice or name used by a persona."""

    subject_id: Id
    kinds: Kinds
    deceased: bool = False
    subject_birth_date: date | None = None

    @model_validator(mode="after")
    def _birth_in_past(self) -> Likeness:
        if self.subject_birth_date is not None and self.subject_birth_date > datetime.now(UTC).date():
            raise ValueError("subject_birth_date is in the future")
        return self

    def subject(self) -> Subject:
        return Subject(id=self.subject_id, deceased=self.deceased, birth_date=self.subject_birth_date)


class PersonaIn(_Model):
    """What operators send to create a persona (API body, CLI, ``personas:`` in candor.yaml)."""

    id: Id
    display_name: Annotated[str, Field(min_length=1, max_length=200)]
    # required: a silent default could hide a partner persona from the minors rules
    relationship: Relationship
    likeness: Likeness | None = None
    enabled: bool = True


class PersonaPatch(_Model):
    """A PATCH body: only the fields present change; ``"likeness": null`` removes the likeness."""

    display_name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    relationship: Relationship | None = None
    likeness: Likeness | None = None
    enabled: bool | None = None

    @model_validator(mode="after")
    def _not_null(self) -> PersonaPatch:
        for name in ("display_name", "relationship", "enabled"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        if not self.model_fields_set:
            raise ValueError("nothing to change: send at least one of display_name, relationship, likeness, enabled")
        return self


class Persona(_Model):
    id: Id
    display_name: str
    relationship: Relationship
    likeness: Likeness | None = None
    enabled: bool = True
    created_at: AwareDatetime
    updated_at: AwareDatetime


class ConsentIn(_Model):
    """What operators send to record a consent. ``replaces`` revokes the named consent atomically."""

    id: Id | None = None
    subject_id: Id
    granted_by: GrantedBy
    scopes: Kinds
    purpose: Text
    valid_from: AwareDatetime | None = None  # default: now
    valid_until: AwareDatetime | None = None  # None: until revoked
    evidence_sha256: Sha256Hex
    replaces: Id | None = None

    @model_validator(mode="after")
    def _window(self) -> ConsentIn:
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        return self


class Consent(_Model):
    """A ledger entry. Never edited: revocation is a separate, append-only record joined in."""

    id: Id
    subject_id: Id
    granted_by: GrantedBy
    scopes: Kinds
    purpose: str
    valid_from: AwareDatetime
    valid_until: AwareDatetime | None
    evidence_sha256: Sha256Hex
    created_at: AwareDatetime
    replaces: str | None = None
    actor: str = ""
    revoked_at: AwareDatetime | None = None
    revoked_reason: str | None = None
    replaced_by: str | None = None

    def status(self, now: datetime) -> ConsentStatus:
        if self.revoked_at is not None:
            return "revoked"
        if now < self.valid_from:
            return "pending"
        if self.valid_until is not None and now >= self.valid_until:
            return "expired"
        return "active"


def to_us(moment: datetime) -> int:
    """Integer microseconds since the epoch: what stores keep."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(value: int) -> datetime:
    return datetime.fromtimestamp(value // 1_000_000, UTC).replace(microsecond=value % 1_000_000)


def from_ts(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
