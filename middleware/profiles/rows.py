"""How a profile maps to a row, shared by the SQLite and PostgreSQL stores so both read alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from middleware.profiles.models import UserProfile, from_us, to_us

# the columns after user_id, in the order both stores select and insert them
COLUMNS = ("age_band", "guardian_consent", "guardian_contact", "emergency_contact", "blocked_personas",
           "unlabeled_allowed", "minors_mode", "minors_mode_override", "training_consent", "updated_at", "version")
SELECT = f"SELECT {', '.join(COLUMNS)} FROM profiles_users"


def profile_values(profile: UserProfile) -> tuple[Any, ...]:
    """Column values, ``version`` excluded (the store sets it). Persona ids cannot hold a comma."""
    return (profile.age_band, profile.guardian_consent, profile.guardian_contact, profile.emergency_contact,
            ",".join(profile.blocked_personas), profile.unlabeled_allowed, profile.minors_mode,
            profile.minors_mode_override, profile.training_consent,
            to_us(profile.updated_at) if profile.updated_at else None)


def profile_from_row(row: Sequence[Any]) -> UserProfile:
    return UserProfile(age_band=row[0], guardian_consent=bool(row[1]), guardian_contact=row[2],
                       emergency_contact=row[3], blocked_personas=[p for p in row[4].split(",") if p],
                       unlabeled_allowed=bool(row[5]), minors_mode=bool(row[6]), minors_mode_override=bool(row[7]),
                       training_consent=bool(row[8]),
                       updated_at=from_us(row[9]) if row[9] is not None else None, version=row[10])
