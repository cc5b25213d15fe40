"""The crisis hand-over table (``handovers``) in the audit database: SQLite or PostgreSQL.

One row per pause; ``released_at`` is set when an operator releases it (rows are kept as the record
of who released what and when). A partial unique index keeps at most one active pause per
(scope_hash, session_id), so two replicas pausing the same session at once insert one row.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import asyncpg

from middleware.config import CandorConfig
from middleware.handover import Handover, HandoverStore

from .likeness_sqlite import sqlite_path
from .pg import split_pg_url

T = TypeVar("T")
_LOCK_KEY = 0x63616E646F72_07  # "candor" + 7: the hand-over table's migration advisory lock
_TABLE = ("CREATE TABLE IF NOT EXISTS handovers (scope_hash TEXT NOT NULL, session_id TEXT NOT NULL, app_id TEXT,"
          " event_id TEXT, created_at BIGINT NOT NULL, released_at BIGINT, released_by TEXT)")
_INDEX = ("CREATE UNIQUE INDEX IF NOT EXISTS handovers_active ON handovers (scope_hash, session_id)"
          " WHERE released_at IS NULL")


def _us(seconds: float) -> int:
    return round(seconds * 1e6)


def _row(r: Any) -> Handover:
    return Handover(scope_hash=r[0], session_id=r[1], app_id=r[2], event_id=r[3], created_at=r[4] / 1e6)


class SqliteHandoverStore:
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._conn: sqlite3.Connection | None = None
        self._executor: ThreadPoolExecutor | None = None

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            raise RuntimeError("SqliteHandoverStore used before open()")
        return await asyncio.get_running_loop().run_in_executor(self._executor, partial(fn, *args))

    async def open(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="candor-handover-sqlite")
        await self._run(self._open_sync)

    def _open_sync(self) -> None:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 5000")
        if self.path != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")   # a pause must survive a power cut once answered
        conn.execute(_TABLE.replace("BIGINT", "INTEGER"))
        conn.execute(_INDEX)
        self._conn = conn

    @property
    def _db(self) -> sqlite3.Connection:
        assert self._conn is not None
        return self._conn

    async def close(self) -> None:
        if self._executor is None:
            return
        if self._conn is not None:
            await self._run(self._conn.close)
            self._conn = None
        self._executor.shutdown(wait=True)
        self._executor = None

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


class PostgresHandoverStore:
    def __init__(self, dsn: str, *, schema: str | None = None) -> None:
        self.dsn = dsn
        self.schema = schema
        self._pool: asyncpg.Pool | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("PostgresHandoverStore used before open()")
        return self._pool

    async def open(self) -> None:
        settings = {"search_path": f'"{self.schema}"'} if self.schema else {}
        self._pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=2, server_settings=settings)
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
            if self.schema:
                await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            await conn.execute(_TABLE)
            await conn.execute(_INDEX)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

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
    url = url or cfg.audit.url
    if url.startswith("sqlite:"):
        path = sqlite_path(url)
        return SqliteHandoverStore(path if path == ":memory:" else cfg.resolve_path(path))
    if url.startswith(("postgresql://", "postgres://")):
        dsn, schema = split_pg_url(url)
        return PostgresHandoverStore(dsn, schema=schema)
    raise ValueError(f"unsupported store URL {url!r}: use sqlite:///path/to/audit.db or postgresql://...")
