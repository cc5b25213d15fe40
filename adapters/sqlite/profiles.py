"""User profiles in SQLite (the audit log's database file, own ``profiles_*`` tables).

The plumbing is ``adapters.sqlite.db``'s (one connection on one worker thread, WAL, explicit
transactions); every write runs in a ``BEGIN IMMEDIATE`` transaction that bumps the revision.
"""

from __future__ import annotations

import sqlite3
from functools import partial

from adapters.sqlite.db import SqliteStore, migrate
from adapters.stores.schemas import PROFILES, render
from middleware.profiles.models import UserProfile
from middleware.profiles.rows import COLUMNS, SELECT, profile_from_row, profile_values
from middleware.profiles.store import Change, Changes

MIGRATIONS = render(PROFILES, "sqlite")

_INSERT = (f"INSERT INTO profiles_users (user_id, {', '.join(COLUMNS)}, seq)"
           f" VALUES (?, {', '.join('?' for _ in COLUMNS)}, ?)")
_UPDATE = f"UPDATE profiles_users SET {', '.join(f'{c} = ?' for c in COLUMNS)}, seq = ? WHERE user_id = ?"


class SqliteProfileStore(SqliteStore):

    def _setup(self, db: sqlite3.Connection) -> None:
        migrate(db, "profiles_schema_version", MIGRATIONS)

    # -- reads ----------------------------------------------------------------------------------

    async def get(self, user_id: str) -> UserProfile | None:
        row = await self._run(self._one, SELECT + " WHERE user_id = ?", (user_id,))
        return None if row is None else profile_from_row(row)

    async def user_ids(self, limit: int, after: str | None = None) -> list[str]:
        rows = await self._run(self._all, "SELECT user_id FROM profiles_users WHERE user_id > ? ORDER BY user_id "
                               "LIMIT ?", (after or "", limit))
        return [str(r[0]) for r in rows]

    async def count(self) -> int:
        return int((await self._run(self._one, "SELECT COUNT(*) FROM profiles_users", ()))[0])

    async def changes(self, since: int | None, limit: int = 1000) -> Changes:
        return await self._run(self._transaction, partial(self._changes_sync, since, limit), write=False)

    @staticmethod
    def _changes_sync(since: int | None, limit: int, db: sqlite3.Connection) -> Changes:
        revision, resets = db.execute("SELECT revision, resets FROM profiles_revision WHERE id = 1").fetchone()
        if since is None or since >= revision:
            return Changes(revision, resets, ())
        rows = db.execute("SELECT user_id FROM profiles_users WHERE seq > ? ORDER BY seq LIMIT ?",
                          (since, limit + 1)).fetchall()
        return Changes(revision, resets, tuple(r[0] for r in rows[:limit]), truncated=len(rows) > limit)

    # -- writes ---------------------------------------------------------------------------------

    async def update(self, user_id: str, change: Change) -> tuple[UserProfile | None, UserProfile | None]:
        return await self._run(self._transaction, partial(self._update_sync, user_id, change), write=True)

    @staticmethod
    def _update_sync(user_id: str, change: Change,
                     db: sqlite3.Connection) -> tuple[UserProfile | None, UserProfile | None]:
        # BEGIN IMMEDIATE already holds the database's write lock: no other writer until COMMIT
        row = db.execute(SELECT + " WHERE user_id = ?", (user_id,)).fetchone()
        old = None if row is None else profile_from_row(row)
        new = change(old)
        if new is None:
            return old, None
        db.execute("UPDATE profiles_revision SET revision = revision + 1 WHERE id = 1")
        seq = db.execute("SELECT revision FROM profiles_revision WHERE id = 1").fetchone()[0]
        version = 1 if old is None else old.version + 1
        if old is None:
            db.execute(_INSERT, (user_id, *profile_values(new), version, seq))
        else:
            db.execute(_UPDATE, (*profile_values(new), version, seq, user_id))
        return old, new.model_copy(update={"version": version})

    async def delete(self, user_id: str) -> bool:
        return await self._run(self._transaction, partial(self._delete_sync, user_id), write=True)

    @staticmethod
    def _delete_sync(user_id: str, db: sqlite3.Connection) -> bool:
        if db.execute("DELETE FROM profiles_users WHERE user_id = ?", (user_id,)).rowcount == 0:
            return False
        db.execute("UPDATE profiles_revision SET revision = revision + 1, resets = resets + 1 WHERE id = 1")
        return True
