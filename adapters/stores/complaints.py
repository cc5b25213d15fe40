"""The ``complaints`` table in the audit database: SQLite or PostgreSQL (contract 6.2, ANTH-COMPLAINT-1).

One row per complaint; resolving one sets ``status``, ``resolved_at`` and ``resolution`` in a single
conditional UPDATE (``WHERE status = 'open'``), so two operators resolving it at once resolve it once.
Times are integer microseconds since the epoch.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from adapters.postgres.db import PostgresStore
from adapters.sqlite.db import SqliteStore
from adapters.stores.schemas import COMPLAINTS, render
from adapters.stores.url import choose_store
from middleware.complaints.models import Complaint, Status
from middleware.complaints.service import ComplaintService, Record
from middleware.complaints.store import ComplaintStore
from middleware.config.deployment import CandorConfig

_SQLITE, _POSTGRES = render([COMPLAINTS], "sqlite")[0], render([COMPLAINTS], "postgres")[0]
_COLUMNS = "id, app_id, user_id, category, text, session_id, created_at, due_by, status, resolved_at, resolution"


def _us(seconds: float) -> int:
    return round(seconds * 1e6)


def _row(r: Any) -> Complaint:
    return Complaint(id=r[0], app_id=r[1], user_id=r[2], category=r[3], text=r[4], session_id=r[5],
                     created_at=r[6] / 1e6, due_by=r[7] / 1e6, status=r[8],
                     resolved_at=None if r[9] is None else r[9] / 1e6, resolution=r[10])


def _values(c: Complaint) -> tuple[Any, ...]:
    return (c.id, c.app_id, c.user_id, c.category, c.text, c.session_id, _us(c.created_at), _us(c.due_by),
            c.status, None if c.resolved_at is None else _us(c.resolved_at), c.resolution)


def _where(status: Status | None, app_id: str | None, user_id: str | None, due_before: float | None,
           mark: Any) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    for column, value in (("status", status), ("app_id", app_id), ("user_id", user_id)):
        if value is not None:
            args.append(value)
            clauses.append(f"{column} = {mark(len(args))}")
    if due_before is not None:
        args.append(_us(due_before))
        clauses.append(f"due_by < {mark(len(args))}")
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), args


class SqliteComplaintStore(SqliteStore):
    thread_name = "candor-complaints-sqlite"
    synchronous = "FULL"   # a complaint taken is a duty: it must survive a power cut once answered 201

    def _setup(self, db: sqlite3.Connection) -> None:
        for statement in _SQLITE:
            db.execute(statement)

    async def insert(self, complaint: Complaint) -> None:
        await self._run(self._db.execute, f"INSERT INTO complaints ({_COLUMNS}) VALUES ({', '.join('?' * 11)})",
                        _values(complaint))

    async def get(self, complaint_id: str) -> Complaint | None:
        row = await self._run(self._one, f"SELECT {_COLUMNS} FROM complaints WHERE id = ?", (complaint_id,))
        return None if row is None else _row(row)

    async def find(self, *, status: Status | None, app_id: str | None, user_id: str | None,
                   due_before: float | None, limit: int) -> list[Complaint]:
        where, args = _where(status, app_id, user_id, due_before, lambda _: "?")
        rows = await self._run(self._all, f"SELECT {_COLUMNS} FROM complaints{where} ORDER BY created_at DESC, id"
                                          f" LIMIT ?", (*args, limit))
        return [_row(r) for r in rows]

    async def resolve(self, complaint_id: str, at: float, resolution: str) -> Complaint | None:
        row = await self._run(self._one, "UPDATE complaints SET status = 'resolved', resolved_at = ?, resolution = ?"
                              f" WHERE id = ? AND status = 'open' RETURNING {_COLUMNS}",
                              (_us(at), resolution, complaint_id))
        return None if row is None else _row(row)


class PostgresComplaintStore(PostgresStore):
    lock_key = 0x63616E646F72_0C  # "candor" + 12: the complaints table's migration advisory lock
    pool_size = (1, 2)

    async def _setup(self, conn: Any) -> None:
        for statement in _POSTGRES:
            await conn.execute(statement)

    async def insert(self, complaint: Complaint) -> None:
        await self.pool.execute(f"INSERT INTO complaints ({_COLUMNS}) VALUES "
                                f"({', '.join(f'${i}' for i in range(1, 12))})", *_values(complaint))

    async def get(self, complaint_id: str) -> Complaint | None:
        row = await self.pool.fetchrow(f"SELECT {_COLUMNS} FROM complaints WHERE id = $1", complaint_id)
        return None if row is None else _row(row)

    async def find(self, *, status: Status | None, app_id: str | None, user_id: str | None,
                   due_before: float | None, limit: int) -> list[Complaint]:
        where, args = _where(status, app_id, user_id, due_before, lambda n: f"${n}")
        rows = await self.pool.fetch(f"SELECT {_COLUMNS} FROM complaints{where} ORDER BY created_at DESC, id"
                                     f" LIMIT ${len(args) + 1}", *args, limit)
        return [_row(r) for r in rows]

    async def resolve(self, complaint_id: str, at: float, resolution: str) -> Complaint | None:
        row = await self.pool.fetchrow("UPDATE complaints SET status = 'resolved', resolved_at = $1, resolution = $2"
                                       f" WHERE id = $3 AND status = 'open' RETURNING {_COLUMNS}",
                                       _us(at), resolution, complaint_id)
        return None if row is None else _row(row)


def complaint_store(cfg: CandorConfig, url: str | None = None) -> ComplaintStore:
    """The store for ``url`` (default ``cfg.audit.url``); not opened yet."""
    return choose_store(cfg, url, sqlite=SqliteComplaintStore, postgres=PostgresComplaintStore)


class ComplaintsRuntime:
    """The complaints store, opened at start-up, and the service the routes use."""

    def __init__(self, cfg: CandorConfig, record: Record, clock: Callable[[], float]) -> None:
        self._cfg = cfg
        self._store: ComplaintStore | None = None
        self._service = ComplaintService(self.store, record, clock)

    def store(self) -> ComplaintStore:
        if self._store is None:
            raise RuntimeError("the complaints store is not open (start-up has not run)")
        return self._store

    def service(self) -> ComplaintService:
        return self._service

    async def counts(self) -> dict[str, int]:
        """Open and overdue complaints, for the console's overview (at most 10,000 of each counted)."""
        return {"open": len(await self._service.find("open", None, None, 10_000)),
                "overdue": len(await self._service.find("overdue", None, None, 10_000))}

    async def open(self) -> None:
        store = complaint_store(self._cfg)
        await store.open()
        self._store = store

    async def close(self) -> None:
        if self._store is not None:
            await self._store.close()
            self._store = None
