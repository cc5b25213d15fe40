"""The interfaces user profiles need from the outside: a store and a change bus.

Implementations live in ``adapters/`` (SQLite, PostgreSQL, Redis). The store keeps profiles in the
audit log's database, in its own ``profiles_*`` tables, with two counters in one row:

- ``revision`` moves with every write; each profile row remembers the revision that last wrote it
  (``seq``), so another process asks "which users changed since revision N?" in one indexed query
  and drops only those users from its cache;
- ``resets`` moves with every delete (a deleted row cannot say it changed): a process that sees it
  move drops its whole cache.

Writes are read-modify-write in one transaction that holds the user's row (SQLite: ``BEGIN
IMMEDIATE``; PostgreSQL: ``SELECT ... FOR UPDATE``), so concurrent PATCHes and block/unblock edits
from any number of processes queue up instead of overwriting each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from middleware.profiles.models import UserProfile


class Conflict(Exception):
    """Another writer created the same user's profile at the same moment; retry (the row exists now)."""


Change = Callable[[UserProfile | None], UserProfile | None]


@dataclass(frozen=True, slots=True)
class Changes:
    revision: int
    resets: int
    user_ids: tuple[str, ...]  # users written after the revision asked about (empty on a first call)
    truncated: bool = False  # more changed than one answer carries: drop everything


class ProfileStore(Protocol):
    async def open(self) -> None:
        """Connect and migrate (idempotent; safe with several replicas starting together)."""

    async def close(self) -> None: ...

    async def get(self, user_id: str) -> UserProfile | None: ...

    async def update(self, user_id: str, change: Change) -> tuple[UserProfile | None, UserProfile | None]:
        """Read the profile and write ``change(old)`` in one transaction holding the row; ``change``
        returns None to write nothing. Returns ``(old, written)``; ``written`` has ``version`` = old
        version + 1 (1 for a new profile). Conflict if a concurrent writer created the same profile."""

    async def delete(self, user_id: str) -> bool:
        """Remove the profile; False if there was none."""

    async def changes(self, since: int | None, limit: int = 1000) -> Changes:
        """The counters, and the users written after revision ``since`` (None: counters only)."""

    async def count(self) -> int: ...

    async def user_ids(self, limit: int, after: str | None = None) -> list[str]:
        """Registered user ids in order, ``limit`` at most, those after ``after`` (for paging)."""


class ProfileBus(Protocol):
    """Tells the other replicas that a profile changed (e.g. Redis pub/sub)."""

    async def publish(self, message: str) -> None:
        """Announce ``user:<id>`` (one profile changed) or ``reset`` (drop every cached profile)."""

    async def listen(self, on_message: Callable[[str | None], None]) -> None:
        """Call ``on_message`` with every message published anywhere, until cancelled; with None
        after a (re)connect, since messages sent while disconnected are lost."""

    async def close(self) -> None: ...
