"""The in-process read cache in front of the profile store: a dict lookup on the hot path.

Profiles are read on every request that names a user, so a read must cost microseconds, and a
change must reach every replica within a second. How:

- users without a profile are cached too (most users have none), so misses stay rare;
- a background task asks the store every ``ttl / 2`` which users changed since the revision it saw
  (one indexed query, whatever the number of users) and drops exactly those; if the task falls
  behind, the next read polls itself, so a cached answer is never older than ``ttl``
  (``middleware.freshness``);
- with a bus (Redis pub/sub) a change is dropped as soon as its message arrives, typically within
  milliseconds; changes made through this process's service drop their entry at once.

A read that raced an invalidation is answered but not kept, so a stale row read before a change
can never stay cached after it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import structlog

from middleware.freshness import Freshness, stop_tasks
from middleware.http.errors import CandorError
from middleware.profiles.models import UserProfile
from middleware.profiles.store import Changes, ProfileBus, ProfileStore

log = structlog.get_logger("candor.profiles")
_MISSING = object()


def store_unavailable(exc: BaseException) -> CandorError:
    return CandorError(503, "audit_unavailable",
                       "user profiles (kept in the audit database) cannot be read, so the protections a profile "
                       f"sets cannot be applied: {type(exc).__name__}; retry shortly")


class ProfileCache:
    def __init__(self, store: ProfileStore, *, bus: ProfileBus | None = None, ttl: float = 0.5,
                 max_entries: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        self._store = store
        self._bus = bus
        self._ttl = ttl
        self._max = max_entries
        self._cache: dict[str, UserProfile | None] = {}
        self._generation = 0
        self._revision: int | None = None
        self._resets: int | None = None
        self._freshness = Freshness(ttl, clock, unavailable=store_unavailable, log=log,
                                    event="profiles_store_unreachable",
                                    recent_failure="the profile store failed a moment ago")
        self._tasks: list[asyncio.Task[None]] = []

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        await self._poll()
        self._tasks.append(asyncio.create_task(self._refresher(), name="candor-profiles-refresh"))
        if self._bus is not None:
            self._tasks.append(asyncio.create_task(self._bus.listen(self.on_message), name="candor-profiles-bus"))

    async def close(self) -> None:
        await stop_tasks(self._tasks)
        self._tasks.clear()

    # -- reads ----------------------------------------------------------------------------------

    async def get(self, user_id: str) -> UserProfile | None:
        if self._freshness.stale:
            await self._freshness.refresh(self._changes, self._apply)
        hit = self._cache.get(user_id, _MISSING)
        if hit is not _MISSING:
            return hit  # type: ignore[return-value]
        generation = self._generation
        try:
            profile = await self._store.get(user_id)
        except Exception as exc:
            log.warning("profiles_store_unreachable", error=repr(exc))
            raise store_unavailable(exc) from exc
        if generation == self._generation:
            if len(self._cache) >= self._max:
                # drop the oldest tenth (dicts keep insertion order): cheap, and hot users come back
                for key in list(self._cache)[: max(1, self._max // 10)]:
                    del self._cache[key]
            self._cache[user_id] = profile
        return profile

    def cached(self, user_id: str) -> tuple[bool, UserProfile | None]:
        """(known, profile) from the cache alone, however old: what a fail-open policy uses while the
        store is down (``rules/profile.py``). Unknown users have no profile then (the documented default)."""
        hit = self._cache.get(user_id, _MISSING)
        if hit is _MISSING:
            return False, None
        return True, hit  # type: ignore[return-value]

    # -- invalidation ---------------------------------------------------------------------------

    def invalidate(self, user_id: str | None = None) -> None:
        """Forget one user (or everyone when ``user_id`` is None)."""
        if user_id is None:
            self._cache.clear()
        else:
            self._cache.pop(user_id, None)
        self._generation += 1

    def on_message(self, message: str | None) -> None:
        """A bus message: ``user:<id>``; anything else (``reset``, a reconnect) drops everything."""
        if message is not None and message.startswith("user:"):
            self.invalidate(message[len("user:"):])
        else:
            self.invalidate()

    # -- polling --------------------------------------------------------------------------------

    async def _poll(self) -> None:
        await self._freshness.poll(self._changes, self._apply)

    async def _changes(self) -> Changes:
        return await self._store.changes(self._revision)

    def _apply(self, changes: Changes) -> None:
        if self._revision is not None:
            if changes.truncated or changes.resets != self._resets:
                self.invalidate()
            else:
                for user_id in changes.user_ids:
                    self.invalidate(user_id)
        self._revision, self._resets = changes.revision, changes.resets

    async def _refresher(self) -> None:
        while True:
            await asyncio.sleep(self._ttl / 2)
            try:
                await self._poll()
            except Exception as exc:  # keep polling through store outages
                log.warning("profiles_refresh_failed", error=repr(exc))
