"""End-user profiles (contract 3.4; ANTH-MINOR-1..5, ANTH-ELDER-1/2, LABEL-UNLABELED-1).

- ``models``: UserProfile, ProfileIn / ProfilePatch, ``resolve_age_band``;
- ``store``: the ProfileStore / ProfileBus interfaces (adapters: SQLite, PostgreSQL, Redis);
- ``cache``: the per-request read cache (microseconds; changes visible everywhere within 1 s);
- ``service``: ProfileService, reporting every change through ``on_change`` as a ChangeRecord;
- ``api`` / ``cli``: ``/admin/users/...`` routes and ``candor user show|set``.
"""

from middleware.profiles.models import AGE_BANDS, AgeBand, ProfileIn, ProfilePatch, UserProfile, resolve_age_band
from middleware.profiles.service import ChangeRecord, OnChange, ProfileService
from middleware.profiles.store import Changes, Conflict, ProfileBus, ProfileStore

__all__ = [
    "AGE_BANDS", "AgeBand", "ChangeRecord", "Changes", "Conflict", "OnChange", "ProfileBus", "ProfileIn",
    "ProfilePatch", "ProfileService", "ProfileStore", "UserProfile", "resolve_age_band",
]
