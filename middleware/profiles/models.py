"""End-user profiles (contract 3.4): what the operator knows about a user that changes how Candor
protects them: age band, guardian consent and contacts, blocked personas, unlabelled output.

Two fields are not in the contract's PUT body but belong to the profile:

- ``minors_mode``: set by the pipeline when messages suggest a minor who is not registered as one
  (ANTH-MINOR-5); the minors' rules then apply as if the age band said so;
- ``minors_mode_override``: the operator's answer to an appeal: forces minors mode off for this
  user, even if detection fires again later.

Times are timezone-aware UTC datetimes here and integer microseconds in the stores, as in the
likeness registry.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, model_validator

AgeBand = Literal["under14", "minor", "adult", "elderly"]
AGE_BANDS: tuple[AgeBand, ...] = ("under14", "minor", "adult", "elderly")
MINOR_BANDS: frozenset[str] = frozenset({"under14", "minor"})
MAX_BLOCKED = 1000
MAX_USER_ID = 256  # the same bound the request context puts on X-Candor-User / "user"

# persona ids use the likeness registry's rule: they travel in headers and CLI arguments
_PERSONA_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_user_id(value: str) -> str:
    """User ids are whatever the app sends; only bound them and refuse control characters."""
    if not value or len(value) > MAX_USER_ID or _CONTROL.search(value):
        raise ValueError(f"a user id is 1-{MAX_USER_ID} printable characters")
    return value


def _contact(value: str) -> str:
    value = value.strip()
    if not value or len(value) > 320 or _CONTROL.search(value):
        raise ValueError("a contact is 1-320 printable characters (a phone number, e-mail or an id your app resolves)")
    return value


def _persona_ids(values: list[str]) -> list[str]:
    for v in values:
        if not _PERSONA_ID.fullmatch(v):
            raise ValueError(f"{v!r} is not a persona id (1-128 letters, digits and . _ : -)")
    if len(values) > MAX_BLOCKED:
        raise ValueError(f"at most {MAX_BLOCKED} blocked personas")
    return sorted(set(values))  # a set in a fixed order: equal lists compare and store equal


Contact = Annotated[str, AfterValidator(_contact)]
PersonaIds = Annotated[list[str], AfterValidator(_persona_ids)]


class UserProfile(BaseModel):
    """A stored profile. ``version`` counts writes (optimistic concurrency); stores set it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    age_band: AgeBand | None = None
    guardian_consent: bool = False
    guardian_contact: Contact | None = None
    emergency_contact: Contact | None = None
    blocked_personas: PersonaIds = Field(default_factory=list)
    unlabeled_allowed: bool = False
    minors_mode: bool = False
    minors_mode_override: bool = False
    training_consent: bool = False      # separate consent to train on this user's data (ANTH-DATA-3)
    updated_at: AwareDatetime | None = None
    version: int = Field(0, ge=0)

    @property
    def minors_mode_active(self) -> bool:
        """Detection switched minors mode on and no appeal switched it off."""
        return self.minors_mode and not self.minors_mode_override

    @property
    def is_minor(self) -> bool:
        """The minors' rules apply: registered as a minor, or in minors mode."""
        return self.age_band in MINOR_BANDS or self.minors_mode_active

    def blocks(self, persona_id: str | None) -> bool:
        return persona_id is not None and persona_id in self.blocked_personas


# fields an operator sets (the contract's six plus the two minors-mode flags)
SETTABLE = ("age_band", "guardian_consent", "guardian_contact", "emergency_contact", "blocked_personas",
            "unlabeled_allowed", "minors_mode", "minors_mode_override", "training_consent")
# fields whose values are personal data: audit records say whether they changed, never what to
PERSONAL = frozenset({"guardian_contact", "emergency_contact"})


class ProfileIn(BaseModel):
    """The body of ``PUT /admin/users/{id}``. Omitted contract fields take their defaults (a PUT
    replaces the profile); omitted ``minors_mode`` / ``minors_mode_override`` keep their value, since
    an operator re-sending the contract's six fields should not undo detection or an appeal."""

    model_config = ConfigDict(extra="forbid")

    age_band: AgeBand | None = None
    guardian_consent: StrictBool = False
    guardian_contact: Contact | None = None
    emergency_contact: Contact | None = None
    blocked_personas: PersonaIds = Field(default_factory=list)
    unlabeled_allowed: StrictBool = False
    minors_mode: StrictBool = False
    minors_mode_override: StrictBool = False
    training_consent: StrictBool = False


class ProfilePatch(ProfileIn):
    """A partial change (``PATCH /admin/users/{id}``, ``candor user set``): only the fields given
    change. ``block_personas`` / ``unblock_personas`` edit the blocked list in the same atomic write."""

    block_personas: PersonaIds = Field(default_factory=list)
    unblock_personas: PersonaIds = Field(default_factory=list)

    @model_validator(mode="after")
    def _no_overlap(self) -> ProfilePatch:
        both = set(self.block_personas) & set(self.unblock_personas)
        if both:
            raise ValueError(f"persona(s) both blocked and unblocked: {', '.join(sorted(both))}")
        return self


def apply_put(old: UserProfile | None, spec: ProfileIn) -> dict[str, object]:
    """The settable values after a PUT of ``spec`` over ``old``."""
    values: dict[str, object] = {name: getattr(spec, name) for name in SETTABLE}
    given = spec.model_fields_set
    for flag in ("minors_mode", "minors_mode_override", "training_consent"):
        if flag not in given:
            values[flag] = getattr(old, flag) if old is not None else False
    return values


def apply_patch(old: UserProfile | None, patch: ProfilePatch) -> dict[str, object]:
    """The settable values after ``patch`` over ``old`` (or over an empty profile)."""
    base = old or UserProfile()
    given = patch.model_fields_set
    values: dict[str, object] = {name: getattr(patch if name in given else base, name) for name in SETTABLE}
    blocked = set(values["blocked_personas"])  # type: ignore[call-overload]
    blocked |= set(patch.block_personas)
    blocked -= set(patch.unblock_personas)
    values["blocked_personas"] = sorted(blocked)
    return values


def resolve_age_band(profile: UserProfile | None, claimed: str | None) -> str | None:
    """The age band the rules use: the profile's, else the app's ``X-Candor-Age-Band`` claim; minors
    mode (without an appeal) turns an adult, elderly or unknown band into ``minor``."""
    band = profile.age_band if profile is not None and profile.age_band is not None else claimed
    if profile is not None and profile.minors_mode_active and band not in MINOR_BANDS:
        return "minor"
    return band


def to_us(moment: datetime) -> int:
    """Integer microseconds since the epoch: what stores keep (exact round trips)."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(value: int) -> datetime:
    return datetime.fromtimestamp(value // 1_000_000, UTC).replace(microsecond=value % 1_000_000)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
