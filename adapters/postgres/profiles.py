"""User profiles in PostgreSQL (the audit log's database, own ``profiles_*`` tables), via asyncpg.

Same tables, columns and behaviour as the SQLite store (both map rows through
``middleware.profiles.rows``). Pool, schema and advisory-locked migrations: ``adapters.postgres.db``.
Writers of one user queue on its row lock; all writers serialise on the revision row (locked by its
UPDATE until commit), so revisions become visible in the order they were handed out
and a poller never skips one.
"""

from __future__ import annotations

import asyncpg

from adapters.postgres.db import PostgresStore
from adapters.stores.schemas import PROFILES, render
from middleware.profiles.models import UserProfile
from middleware.profiles.rows import COLUMNS, SELECT, profile_from_row, profile_values
from middleware.profiles.store import Change, Changes, Conflict

MIGRATIONS = render(PROFILES, "postgres")

_N = len(COLUMNS)
_INSERT = (f"INSERT INTO profiles_users (user_id, {', '.join(COLUMNS)}, seq)"
           f" VALUES ({', '.join(f'${i}' for i in range(1, _N + 3))})")
_UPDATE = (f"UPDATE profiles_users SET {', '.join(f'{c} = ${i}' for i, c in enumerate(COLUMNS, start=1))},"
           f" seq = ${_N + 1} WHERE user_id = ${_N + 2}")
_BUMP = "UPDATE profiles_revision SET revision = revision + 1 WHERE id = 1 RETURNING revision"


class PostgresProfileStore(PostgresStore):
    lock_key = 0x63616E646F72_03  # "candor" + 3: the profile migrations' advisory lock
    version_table = "profiles_schema_version"
    MIGRATIONS = MIGRATIONS

    # -- reads ----------------------------------------------------------------------------------

    async def get(self, user_id: str) -> UserProfile | None:
        row = await self.pool.fetchrow(SELECT + " WHERE user_id = $1", user_id)
        return None if row is None else profile_from_row(row)

    async def user_ids(self, limit: int, after: str | None = None) -> list[str]:
        rows = await self.pool.fetch("SELECT user_id FROM profiles_users WHERE user_id > $1 ORDER BY user_id "
                                     "LIMIT $2", after or "", limit)
        return [str(r[0]) for r in rows]

    async def count(self) -> int:
        return int(await self.pool.fetchval("SELECT COUNT(*) FROM profiles_users"))

    async def changes(self, since: int | None, limit: int = 1000) -> Changes:
        # one snapshot: the counters and the changed rows are from the same moment
        async with self.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            row = await conn.fetchrow("SELECT revision, resets FROM profiles_revision WHERE id = 1")
            revision, resets = int(row[0]), int(row[1])
            if since is None or since >= revision:
                return Changes(revision, resets, ())
            rows = await conn.fetch("SELECT user_id FROM profiles_users WHERE seq > $1 ORDER BY seq LIMIT $2",
                                    since, limit + 1)
        return Changes(revision, resets, tuple(r[0] for r in rows[:limit]), truncated=len(rows) > limit)

    # -- writes ---------------------------------------------------------------------------------

    async def update(self, user_id: str, change: Change) -> tuple[UserProfile | None, UserProfile | None]:
        async with self.pool.acquire() as conn, conn.transaction():
            # FOR UPDATE: concurrent writers of this user queue here; a missing row cannot be locked,
            # so two first writes may race, and the loser's INSERT fails (Conflict: retry)
            row = await conn.fetchrow(SELECT + " WHERE user_id = $1 FOR UPDATE", user_id)
            old = None if row is None else profile_from_row(row)
            new = change(old)
            if new is None:
                return old, None
            seq = await conn.fetchval(_BUMP)
            version = 1 if old is None else old.version + 1
            if old is None:
                try:
                    await conn.execute(_INSERT, user_id, *profile_values(new), version, seq)
                except asyncpg.UniqueViolationError as exc:
                    raise Conflict(f"user {user_id!r}'s profile was created concurrently") from exc
            else:
                await conn.execute(_UPDATE, *profile_values(new), version, seq, user_id)
        return old, new.model_copy(update={"version": version})

    async def delete(self, user_id: str) -> bool:
        async with self.pool.acquire() as conn, conn.transaction():
            status = await conn.execute("DELETE FROM profiles_users WHERE user_id = $1", user_id)
            if status.endswith(" 0"):
                return False
            await conn.execute("UPDATE profiles_revision SET revision = revision + 1, resets = resets + 1"
                               " WHERE id = 1")
        return True
