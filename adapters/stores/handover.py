"""The crisis hand-over table (``handovers``) in the audit database: SQLite or PostgreSQL.

One row per pause; ``released_at`` is set when an operator releases it (rows are kept as the record
of who released what and when). A partial unique index keeps at most one active pause per
(scope_hash, session_id), so two replicas pausing the same session at once insert one row.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from adapters.postgres.db import PostgresStore
from adapters.sqlite.db import SqliteStore
from adapters.stores.schemas import HANDOVERS, render
from adapters.stores.url import choose_store
from middleware.alerts.handover import Handover, HandoverStore
from middleware.config.deployment import CandorConfig

_SQLITE, _POSTGRES = render([HANDOVERS], "sqlite")[0], render([HANDOVERS], "postgres")[0]


def _us(seconds: float) -> int:
    return round(seconds * 1e6)


def _row(r: Any) -> Handover:
    return Handover(scope_hash=r[0], session_id=r[1], app_id=r[2], event_id=r[3], created_at=r[4] / 1e6)


class SqliteHandoverStore(SqliteStore):
    synchronous = "FULL"   # a pause must survive a power cut once answered

    def _setup(self, db: sqlite3.Connection) -> None:
        for statement in _SQLITE:
            db.execute(statement)

    async def pause(self, handover: Handover) -> None:
        h = handover
        await self._run(self._db.execute,
                        "INSERT INTO handovers (scope_hash, session_id, app_id, event_id, created_at)"
                        " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                        (h.scope_hash, h.session_id, h.app_id, h.event_id, _us(h.created_at)))

    async def release(self, session_id: str, app_id: str | None, actor: str, at: float) -> list[Handover]:
        def release() -> list[Any]:
            sql = ("UPDATE handovers SET released_at = ?, released_by = ? WHERE session_id = ?"
                   " AND released_at IS NULL")
            params: tuple[Any, ...] = (_us(at), actor, session_id)
            if app_id is not None:
                sql, params = sql + " AND app_id = ?", (*params, app_id)
            return self._db.execute(sql + " RETURNING scope_hash, session_id, app_id, event_id, created_at",
                                    params).fetchall()

        return [_row(r) for r in await self._run(release)]

    async def active(self) -> list[tuple[str, str]]:
        rows = await self._run(lambda: self._db.execute(
            "SELECT scope_hash, session_id FROM handovers WHERE released_at IS NULL").fetchall())
        return [(r[0], r[1]) for r in rows]


class PostgresHandoverStore(PostgresStore):
    lock_key = 0x63616E646F72_07  # "candor" + 7: the hand-over table's migration advisory lock

    async def _setup(self, conn: Any) -> None:
        for statement in _POSTGRES:
            await conn.execute(statement)

    async def pause(self, handover: Handover) -> None:
        h = handover
        await self.pool.execute("INSERT INTO handovers (scope_hash, session_id, app_id, event_id, created_at)"
                                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                                h.scope_hash, h.session_id, h.app_id, h.event_id, _us(h.created_at))

    async def release(self, session_id: str, app_id: str | None, actor: str, at: float) -> list[Handover]:
        sql = "UPDATE handovers SET released_at = $1, released_by = $2 WHERE session_id = $3 AND released_at IS NULL"
        args: list[Any] = [_us(at), actor, session_id]
        if app_id is not None:
            sql += " AND app_id = $4"
            args.append(app_id)
        rows = await self.pool.fetch(sql + " RETURNING scope_hash, session_id, app_id, event_id, created_at", *args)
        return [_row(r) for r in rows]

    async def active(self) -> list[tuple[str, str]]:
        rows = await self.pool.fetch("SELECT scope_hash, session_id FROM handovers WHERE released_at IS NULL")
        return [(r[0], r[1]) for r in rows]


def handover_store(cfg: CandorConfig, url: str | None = None) -> HandoverStore:
    """The store for ``url`` (default ``cfg.audit.url``); not opened yet."""
    return choose_store(cfg, url, sqlite=SqliteHandoverStore, postgres=PostgresHandoverStore)
