"""The alert outbox in SQLite (the audit log's database file, table ``alerts_outbox``).

One connection on one worker thread (``adapters.sqlite.db``), but with ``synchronous=FULL``:
an alert must survive a power cut once ``enqueue`` has returned, not only a process crash. WAL lets
other processes read while one writes; claims run in ``BEGIN IMMEDIATE`` transactions, so two
processes never lease the same alert.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from adapters.sqlite.db import SqliteStore, migrate
from adapters.stores.schemas import ALERTS_OUTBOX, render
from middleware.alerts.models import Alert, OutboxEntry, Status
from middleware.alerts.rows import COLUMNS, entry_from_row, seconds, us

MIGRATIONS = render(ALERTS_OUTBOX, "sqlite")

_CLAIM = (
    "UPDATE alerts_outbox SET lease_owner = ?, lease_until = ? WHERE id IN ("
    " SELECT id FROM alerts_outbox WHERE status = 'pending' AND next_attempt_at <= ?"
    " AND (lease_until IS NULL OR lease_until <= ?) ORDER BY next_attempt_at LIMIT ?)"
    f" RETURNING {COLUMNS}"
)


class SqliteOutboxStore(SqliteStore):
    synchronous = "FULL"

    def _setup(self, db: sqlite3.Connection) -> None:
        migrate(db, "alerts_schema_version", MIGRATIONS)

    # -- writes ---------------------------------------------------------------------------------

    async def insert(self, alert: Alert, body: bytes, next_attempt_at: float) -> bool:
        def insert(db: sqlite3.Connection) -> bool:
            cur = db.execute("INSERT INTO alerts_outbox (id, kind, created_at, event_id, body, status, attempts,"
                             " next_attempt_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?) ON CONFLICT (id) DO NOTHING",
                             (alert.id, alert.kind, us(alert.created_at.timestamp()), alert.event_id, body,
                              us(next_attempt_at)))
            return cur.rowcount == 1

        return await self._run(self._transaction, insert)

    async def claim(self, now: float, limit: int, lease_until: float, owner: str) -> list[OutboxEntry]:
        def claim(db: sqlite3.Connection) -> list[Any]:
            return db.execute(_CLAIM, (owner, us(lease_until), us(now), us(now), limit)).fetchall()

        rows = await self._run(self._transaction, claim)
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

        return await self._run(self._transaction, finish)

    async def retry_now(self, alert_id: str, at: float) -> bool:
        def retry(db: sqlite3.Connection) -> bool:
            cur = db.execute(
                "UPDATE alerts_outbox SET status = 'pending', next_attempt_at = ? WHERE id = ?"
                " AND status != 'delivered' AND (lease_owner IS NULL OR lease_until < ?)", (us(at), alert_id, us(at)))
            return cur.rowcount == 1

        return await self._run(self._transaction, retry)

    async def release(self, owner: str) -> None:
        def release(db: sqlite3.Connection) -> None:
            db.execute("UPDATE alerts_outbox SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?",
                       (owner,))

        await self._run(self._transaction, release)

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
