"""The alert outbox in PostgreSQL (the audit log's database, table ``alerts_outbox``), via asyncpg.

Same table and behaviour as the SQLite store. Claims lock candidate rows with ``FOR UPDATE SKIP
LOCKED``, so replicas claiming at the same moment take different alerts instead of waiting on each
other. Pool, schema and advisory-locked migrations: ``adapters.postgres.db``.
"""

from __future__ import annotations

from adapters.postgres.db import PostgresStore
from adapters.stores.schemas import ALERTS_OUTBOX, render
from middleware.alerts.models import Alert, OutboxEntry, Status
from middleware.alerts.rows import COLUMNS, entry_from_row, seconds, us

MIGRATIONS = render(ALERTS_OUTBOX, "postgres")

_CLAIM = (
    "UPDATE alerts_outbox SET lease_owner = $1, lease_until = $2 WHERE id IN ("
    " SELECT id FROM alerts_outbox WHERE status = 'pending' AND next_attempt_at <= $3"
    " AND (lease_until IS NULL OR lease_until <= $3) ORDER BY next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED)"
    f" RETURNING {COLUMNS}"
)


class PostgresOutboxStore(PostgresStore):
    lock_key = 0x63616E646F72_04  # "candor" + 4: the alert outbox migrations' advisory lock
    version_table = "alerts_schema_version"
    MIGRATIONS = MIGRATIONS

    # -- writes ---------------------------------------------------------------------------------

    async def insert(self, alert: Alert, body: bytes, next_attempt_at: float) -> bool:
        status = await self.pool.execute(
            "INSERT INTO alerts_outbox (id, kind, created_at, event_id, body, status, attempts, next_attempt_at)"
            " VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6) ON CONFLICT (id) DO NOTHING",
            alert.id, alert.kind, us(alert.created_at.timestamp()), alert.event_id, body, us(next_attempt_at))
        return bool(status.endswith(" 1"))

    async def claim(self, now: float, limit: int, lease_until: float, owner: str) -> list[OutboxEntry]:
        rows = await self.pool.fetch(_CLAIM, owner, us(lease_until), us(now), limit)
        return sorted((entry_from_row(r) for r in rows), key=lambda e: e.next_attempt_at or 0.0)

    async def finish(self, alert_id: str, owner: str, *, status: Status, attempts: int, at: float,
                     http_status: int | None, error: str | None, next_attempt_at: float | None) -> bool:
        result = await self.pool.execute(
            "UPDATE alerts_outbox SET status = $1, attempts = $2, last_attempt_at = $3, last_status = $4,"
            " last_error = $5, next_attempt_at = $6, delivered_at = $7, lease_owner = NULL, lease_until = NULL"
            " WHERE id = $8 AND lease_owner = $9",
            status, attempts, us(at), http_status, error,
            us(next_attempt_at) if next_attempt_at is not None else None,
            us(at) if status == "delivered" else None, alert_id, owner)
        return bool(result.endswith(" 1"))

    async def retry_now(self, alert_id: str, at: float) -> bool:
        result = await self.pool.execute(
            "UPDATE alerts_outbox SET status = 'pending', next_attempt_at = $1 WHERE id = $2"
            " AND status != 'delivered' AND (lease_owner IS NULL OR lease_until < $1)", us(at), alert_id)
        return bool(result.endswith(" 1"))

    async def release(self, owner: str) -> None:
        await self.pool.execute("UPDATE alerts_outbox SET lease_owner = NULL, lease_until = NULL"
                                " WHERE lease_owner = $1", owner)

    # -- reads ----------------------------------------------------------------------------------

    async def get(self, alert_id: str) -> OutboxEntry | None:
        row = await self.pool.fetchrow(f"SELECT {COLUMNS} FROM alerts_outbox WHERE id = $1", alert_id)
        return None if row is None else entry_from_row(row)

    async def list_entries(self, status: Status | None, limit: int) -> list[OutboxEntry]:
        if status:
            rows = await self.pool.fetch(f"SELECT {COLUMNS} FROM alerts_outbox WHERE status = $1"
                                         " ORDER BY created_at DESC, id DESC LIMIT $2", status, limit)
        else:
            rows = await self.pool.fetch(f"SELECT {COLUMNS} FROM alerts_outbox"
                                         " ORDER BY created_at DESC, id DESC LIMIT $1", limit)
        return [entry_from_row(r) for r in rows]

    async def next_due(self) -> float | None:
        value = await self.pool.fetchval("SELECT MIN(GREATEST(next_attempt_at, COALESCE(lease_until, 0)))"
                                         " FROM alerts_outbox WHERE status = 'pending'")
        return seconds(value)
