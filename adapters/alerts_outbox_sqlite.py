"""The alert outbox in SQLite (the audit log's database file, table ``alerts_outbox``).

One connection on one worker thread, as the other SQLite stores, but with ``synchronous=FULL``:
an alert must survive a power cut once ``enqueue`` has returned, not only a process crash. WAL lets
other processes read while one writes; claims run in ``BEGIN IMMEDIATE`` transactions, so two
processes never lease the same alert.
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

from middleware.alerts.models import Alert, OutboxEntry, Status
from middleware.alerts.rows import COLUMNS, entry_from_row, seconds, us

T = TypeVar("T")

MIGRATIONS: list[list[str]] = [
    [
        "CREATE TABLE alerts_outbox (id TEXT PRIMARY KEY, kind TEXT NOT NULL, created_at INTEGER NOT NULL,"
        " event_id TEXT, body BLOB NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL,"
        " next_attempt_at INTEGER, lease_owner TEXT, lease_until INTEGER, last_attempt_at INTEGER,"
        " last_status INTEGER, last_error TEXT, delivered_at INTEGER)",
        "CREATE INDEX alerts_outbox_due ON alerts_outbox (status, next_attempt_at)",
        "CREATE INDEX alerts_outbox_created ON alerts_outbox (created_at)",
    ],
]

_CLAIM = (
    "UPDATE alerts_outbox SET lease_owner = ?, lease_until = ? WHERE id IN ("
    " SELECT id FROM alerts_outbox WHERE status = 'pending' AND next_attempt_at <= ?"
    " AND (lease_until IS NULL OR lease_until <= ?) ORDER BY next_attempt_at LIMIT ?)"
    f" RETURNING {COLUMNS}"
)


class SqliteOutboxStore:
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._conn: sqlite3.Connection | None = None
        self._executor: ThreadPoolExecutor | None = None

    # -- plumbing -------------------------------------------------------------------------------

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            raise RuntimeError("SqliteOutboxStore used before open()")
        return await asyncio.get_running_loop().run_in_executor(self._executor, partial(fn, *args))

    @property
    def _db(self) -> sqlite3.Connection:
        assert self._conn is not None
        return self._conn

    def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            result = fn(db)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return result

    async def open(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="candor-alerts-sqlite")
        await self._run(self._open_sync)

    def _open_sync(self) -> None:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 5000")
        if self.path != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
        self._conn = conn
        conn.execute("CREATE TABLE IF NOT EXISTS alerts_schema_version"
                     " (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")

        def migrate(db: sqlite3.Connection) -> None:
            current = db.execute("SELECT COALESCE(MAX(version), 0) FROM alerts_schema_version").fetchone()[0]
            for version, statements in enumerate(MIGRATIONS, start=1):
                if version <= current:
                    continue
                for statement in statements:
                    db.execute(statement)
                db.execute("INSERT INTO alerts_schema_version VALUES (?, ?)", (version, int(time.time() * 1e6)))

        self._write(migrate)

    async def close(self) -> None:
        if self._executor is None:
            return
        if self._conn is not None:
            await self._run(self._conn.close)
            self._conn = None
        self._executor.shutdown(wait=True)
        self._executor = None

    # -- writes ---------------------------------------------------------------------------------

    async def insert(self, alert: Alert, body: bytes, next_attempt_at: float) -> bool:
        def insert(db: sqlite3.Connection) -> bool:
            cur = db.execute("INSERT INTO alerts_outbox (id, kind, created_at, event_id, body, status, attempts,"
                             " next_attempt_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?) ON CONFLICT (id) DO NOTHING",
                             (alert.id, alert.kind, us(alert.created_at.timestamp()), alert.event_id, body,
                              us(next_attempt_at)))
            return cur.rowcount == 1

        return await self._run(self._write, insert)

    async def claim(self, now: float, limit: int, lease_until: float, owner: str) -> list[OutboxEntry]:
        def claim(db: sqlite3.Connection) -> list[Any]:
            return db.execute(_CLAIM, (owner, us(lease_until), us(now), us(now), limit)).fetchall()

        rows = await self._run(self._write, claim)
        return sorted((entry_from_row(r) for r in rows), key=lambda e: e.next_attempt_at or 0.0)

    async def finish(self, alert_id: str, owner: str, *, status: Status, attempts: int, at: float,
                     http_status: int | None, error: str | None, next_attempt_at: float | None) -> bool:
        def finish(db: sqlite3.Connection) -> bool:
            cur = db.execute(
                "UPDATE alerts_outbox SET status = ?, attempts = ?, last_attempt_at = ?, last_status = ?,"
                " last_error = ?, next_attempt_at = ?, delivered_at = ?, lease_owner = NULL, lease_until = NULL"
                " WHERE id = ? AND lease_owner = ?",
                (status, attempts, us(at), http_status, error,
                 us(next_attempt_at) if next_attempt_at is not None else None,
                 us(at) if status == "delivered" else None, alert_id, owner))
            return cur.rowcount == 1

        return await self._run(self._write, finish)

    async def release(self, owner: str) -> None:
        def release(db: sqlite3.Connection) -> None:
            db.execute("UPDATE alerts_outbox SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?",
                       (owner,))

        await self._run(self._write, release)

    # -- reads ----------------------------------------------------------------------------------

    async def get(self, alert_id: str) -> OutboxEntry | None:
        row = await self._run(self._one, f"SELECT {COLUMNS} FROM alerts_outbox WHERE id = ?", (alert_id,))
        return None if row is None else entry_from_row(row)

    async def list_entries(self, status: Status | None, limit: int) -> list[OutboxEntry]:
        where, params = ("WHERE status = ?", (status,)) if status else ("", ())
        rows = await self._run(self._all, f"SELECT {COLUMNS} FROM alerts_outbox {where}"
                               " ORDER BY created_at DESC, id DESC LIMIT ?", (*params, limit))
        return [entry_from_row(r) for r in rows]

    async def next_due(self) -> float | None:
        row = await self._run(self._one, "SELECT MIN(MAX(next_attempt_at, COALESCE(lease_until, 0)))"
                              " FROM alerts_outbox WHERE status = 'pending'", ())
        return seconds(row[0])

    def _one(self, sql: str, params: tuple[Any, ...]) -> Any:
        return self._db.execute(sql, params).fetchone()

    def _all(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        return self._db.execute(sql, params).fetchall()
