"""User profiles in SQLite (the audit log's database file, own ``profiles_*`` tables).

Same plumbing as the likeness store: stdlib ``sqlite3`` on one connection owned by one worker
thread (the event loop never blocks on disk, statements never race on the connection), WAL so other
processes read while one writes, ``busy_timeout`` so writers wait their turn, and explicit
``BEGIN IMMEDIATE`` transactions that bump the revision with every write.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from middleware.profiles.models import UserProfile
from middleware.profiles.rows import COLUMNS, SELECT, profile_from_row, profile_values
from middleware.profiles.store import Change, Changes

T = TypeVar("T")

MIGRATIONS: list[list[str]] = [
    [
        "CREATE TABLE profiles_users (user_id TEXT PRIMARY KEY, age_band TEXT,"
        " guardian_consent INTEGER NOT NULL, guardian_contact TEXT, emergency_contact TEXT,"
        " blocked_personas TEXT NOT NULL, unlabeled_allowed INTEGER NOT NULL, minors_mode INTEGER NOT NULL,"
        " minors_mode_override INTEGER NOT NULL, updated_at INTEGER, version INTEGER NOT NULL,"
        " seq INTEGER NOT NULL)",
        "CREATE INDEX profiles_users_seq ON profiles_users (seq)",
        "CREATE TABLE profiles_revision (id INTEGER PRIMARY KEY CHECK (id = 1), revision INTEGER NOT NULL,"
        " resets INTEGER NOT NULL)",
        "INSERT INTO profiles_revision (id, revision, resets) VALUES (1, 0, 0)",
    ],
]

_INSERT = (f"INSERT INTO profiles_users (user_id, {', '.join(COLUMNS)}, seq)"
           f" VALUES (?, {', '.join('?' for _ in COLUMNS)}, ?)")
_UPDATE = f"UPDATE profiles_users SET {', '.join(f'{c} = ?' for c in COLUMNS)}, seq = ? WHERE user_id = ?"


class SqliteProfileStore:
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._conn: sqlite3.Connection | None = None
        self._executor: ThreadPoolExecutor | None = None

    # -- plumbing -------------------------------------------------------------------------------

    async def _run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self._executor is None:
            raise RuntimeError("SqliteProfileStore used before open()")
        return await asyncio.get_running_loop().run_in_executor(self._executor, partial(fn, *args, **kwargs))

    @property
    def _db(self) -> sqlite3.Connection:
        assert self._conn is not None
        return self._conn

    def _transaction(self, fn: Callable[[sqlite3.Connection], T], *, write: bool) -> T:
        db = self._db
        db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            result = fn(db)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return result

    async def open(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="candor-profiles-sqlite")
        await self._run(self._open_sync)

    def _open_sync(self) -> None:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # autocommit mode: transactions are explicit, never implicit
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 5000")
        if self.path != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        self._conn = conn
        conn.execute("CREATE TABLE IF NOT EXISTS profiles_schema_version"
                     " (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")

        def migrate(db: sqlite3.Connection) -> None:
            current = db.execute("SELECT COALESCE(MAX(version), 0) FROM profiles_schema_version").fetchone()[0]
            for version, statements in enumerate(MIGRATIONS, start=1):
                if version <= current:
                    continue
                for statement in statements:
                    db.execute(statement)
                db.execute("INSERT INTO profiles_schema_version VALUES (?, ?)", (version, int(time.time() * 1e6)))

        self._transaction(migrate, write=True)

    async def close(self) -> None:
        if self._executor is None:
            return
        if self._conn is not None:
            await self._run(self._conn.close)
            self._conn = None
        self._executor.shutdown(wait=True)
        self._executor = None

    # -- reads ----------------------------------------------------------------------------------

    async def get(self, user_id: str) -> UserProfile | None:
        row = await self._run(self._one, SELECT + " WHERE user_id = ?", (user_id,))
        return None if row is None else profile_from_row(row)

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

    def _one(self, sql: str, params: tuple[Any, ...]) -> Any:
        return self._db.execute(sql, params).fetchone()

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
