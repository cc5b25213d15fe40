"""The operations on user profiles, shared by the admin API, the CLI and the request pipeline.

Every committed change is reported through ``on_change`` (the lead wires it to the audit log as a
``profile_change`` event), drops this process's cached copy, and is announced on the bus to the
other replicas. ``on_change`` runs after the commit: if it raises, the caller sees a 503 although
the change stands, so the audit hook must spool durably rather than drop.

Audit records carry the raw ``user_id`` (the hook pseudonymises it into ``user_ref``) and never the
values of personal fields (contacts): only that they were set or cleared.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import structlog
from pydantic_core import ErrorDetails

from middleware.change_report import audit_change, publish_quietly
from middleware.http.errors import CandorError, invalid_request
from middleware.http.validation import parse
from middleware.profiles.cache import ProfileCache, store_unavailable
from middleware.profiles.models import (
    PERSONAL,
    SETTABLE,
    ProfileIn,
    ProfilePatch,
    UserProfile,
    apply_patch,
    apply_put,
    check_user_id,
)
from middleware.profiles.store import Conflict, ProfileBus, ProfileStore

log = structlog.get_logger("candor.profiles")
Action = Literal["create", "update", "delete", "minors_mode"]
_WRITE_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class ChangeRecord:
    """One profile change, for the audit log (event kind ``profile_change``)."""

    action: Action  # create | update | delete | minors_mode (set by detection)
    actor: str  # "admin-api", "cli:<user>", "pipeline"
    at: datetime
    user_id: str  # raw: the audit hook turns it into the keyed pseudonym user_ref
    changed: tuple[str, ...]  # names of the fields that changed
    detail: dict[str, Any] = field(default_factory=dict)  # new values; contacts only as "set"/"cleared"
    kind: Literal["profile_change"] = "profile_change"


OnChange = Callable[[ChangeRecord], Awaitable[None]]


def _explain(err: ErrorDetails, loc: str | None) -> str | None:
    if err["type"] == "literal_error" and loc == "age_band":
        return "unknown age band: use under14, minor, adult, elderly or null"
    return None


def user_id_or_400(user_id: str) -> str:
    try:
        return check_user_id(user_id)
    except ValueError as exc:
        raise invalid_request(f"invalid user id: {exc}", param="user_id") from None


def describe(old: UserProfile | None, new: UserProfile | None) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The fields that changed, and the audit detail for them (no personal values)."""
    before = old or UserProfile()
    after = new or UserProfile()
    changed = tuple(n for n in SETTABLE if getattr(before, n) != getattr(after, n))
    detail: dict[str, Any] = {}
    for name in changed:
        value = getattr(after, name)
        detail[name] = ("set" if value else "cleared") if name in PERSONAL else value
    return changed, detail


class ProfileService:
    def __init__(self, store: ProfileStore, *, bus: ProfileBus | None = None, on_change: OnChange | None = None,
                 ttl: float = 0.5, clock: Callable[[], float] = time.time,
                 cache_clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.bus = bus
        self.on_change = on_change
        self.cache = ProfileCache(store, bus=bus, ttl=ttl, clock=cache_clock)
        self._clock = clock

    async def start(self) -> None:
        """Start the cache's refresher and bus listener (without it, reads poll the store themselves)."""
        await self.cache.start()

    async def close(self) -> None:
        """Stop the background tasks; the store and bus belong to whoever opened them."""
        await self.cache.close()

    # -- reads ----------------------------------------------------------------------------------

    async def get(self, user_id: str) -> UserProfile | None:
        """The user's profile, or None if none is registered (cached: the per-request read)."""
        return await self.cache.get(user_id)

    async def user_ids(self, limit: int = 100, after: str | None = None) -> list[str]:
        """Registered users in id order (``candor user list``)."""
        return await self.store.user_ids(limit, after)

    async def get_fresh(self, user_id: str) -> UserProfile | None:
        """Straight from the store, bypassing the cache (admin reads, read-modify-write)."""
        try:
            return await self.store.get(user_id)
        except CandorError:
            raise
        except Exception as exc:
            raise store_unavailable(exc) from exc

    async def require(self, user_id: str) -> UserProfile:
        profile = await self.get_fresh(user_id_or_400(user_id))
        if profile is None:
            raise CandorError(404, "user_not_found",
                              f"no profile is registered for user {user_id!r}: create one with "
                              f"PUT /admin/users/{{user_id}} or `candor user set {user_id} ...`")
        return profile

    # -- writes ---------------------------------------------------------------------------------

    async def put(self, user_id: str, data: ProfileIn | dict[str, Any], *, actor: str) -> UserProfile:
        """Replace the profile (``PUT``): omitted contract fields take their defaults."""
        spec = parse(ProfileIn, data, "user profile", explain=_explain)
        return await self._write(user_id, lambda old: apply_put(old, spec), actor=actor)

    async def patch(self, user_id: str, data: ProfilePatch | dict[str, Any], *, actor: str) -> UserProfile:
        """Change only the given fields (creating the profile if the user has none)."""
        patch = parse(ProfilePatch, data, "user profile change", explain=_explain)
        return await self._write(user_id, lambda old: apply_patch(old, patch), actor=actor)

    async def mark_suspected_minor(self, user_id: str, *, actor: str = "pipeline",
                                   reason: str | None = None) -> UserProfile:
        """Switch minors mode on (ANTH-MINOR-5); a no-op if already on. An earlier appeal
        (``minors_mode_override``) still holds: the rules keep treating the user as the operator said."""
        current = await self.get_fresh(user_id_or_400(user_id))
        if current is not None and current.minors_mode:
            return current
        extra = {"reason": reason} if reason else {}
        return await self._write(user_id, lambda old: {**_values(old), "minors_mode": True}, actor=actor,
                                 action="minors_mode", extra=extra)

    async def delete(self, user_id: str, *, actor: str) -> bool:
        """Remove the profile (e.g. with ``user erase``); False if there was none."""
        user_id = user_id_or_400(user_id)
        old = await self.get_fresh(user_id)
        if old is None:
            return False
        try:
            removed = await self.store.delete(user_id)
        except Exception as exc:
            raise store_unavailable(exc) from exc
        if removed:
            changed, detail = describe(old, None)
            await self._changed(ChangeRecord("delete", actor, self._now(), user_id, changed, detail), user_id=user_id)
        return removed

    # -- plumbing -------------------------------------------------------------------------------

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    async def _write(self, user_id: str, values: Callable[[UserProfile | None], dict[str, Any]], *, actor: str,
                     action: Action | None = None, extra: dict[str, Any] | None = None) -> UserProfile:
        user_id = user_id_or_400(user_id)
        at = self._now()

        def change(old: UserProfile | None) -> UserProfile | None:
            new = UserProfile.model_validate({**values(old), "updated_at": at})
            if old is not None and not describe(old, new)[0]:
                return None  # nothing to write, nothing to audit
            return new

        for _ in range(_WRITE_ATTEMPTS):
            try:
                old, written = await self.store.update(user_id, change)
            except Conflict:
                continue  # a concurrent first write created the row: now it exists and can be locked
            except Exception as exc:
                raise store_unavailable(exc) from exc
            if written is None:
                assert old is not None
                return old
            changed, detail = describe(old, written)
            record = ChangeRecord(action or ("create" if old is None else "update"), actor, at, user_id, changed,
                                  {**detail, **(extra or {})})
            await self._changed(record, user_id=user_id)
            return written
        raise CandorError(503, "audit_unavailable", f"the profile of user {user_id!r} could not be written; retry")

    async def _changed(self, record: ChangeRecord, *, user_id: str) -> None:
        self.cache.invalidate(user_id)
        await publish_quietly(self.bus, f"user:{user_id}", log=log, event="profiles_publish_failed")
        await audit_change(self.on_change, record, what="the profile change", log=log,
                           event="profile_change_not_audited", action=record.action)


def _values(profile: UserProfile | None) -> dict[str, Any]:
    base = profile or UserProfile()
    return {name: getattr(base, name) for name in SETTABLE}
