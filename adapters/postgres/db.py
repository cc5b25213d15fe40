"""What the PostgreSQL stores share: the pool (in the ``?schema=`` schema), versioned migrations.

Every store that keeps tables in the audit log's database shares ONE asyncpg pool per database,
schema and event loop (``SharedPool``, reference-counted), with ``search_path`` set to the schema named
in the URL (``adapters.postgres.url.split_pg_url``); each store creates that schema if missing and migrates its
tables, all in one transaction under the store's own advisory
lock, so replicas starting together do not race.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ClassVar

import asyncpg

# as adapters/postgres/url.py accepts in ?schema=
SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def check_schema(schema: str | None) -> None:
    if schema is not None and not SCHEMA_NAME.fullmatch(schema):
        raise ValueError(f"invalid schema name {schema!r}")


async def create_pool(dsn: str, schema: str | None, *, min_size: int, max_size: int) -> asyncpg.Pool:
    """A pool whose connections look up tables in ``schema`` (the server's default path without one)."""
    # quoted: a schema named with capitals is that schema, not its lower-case twin
    settings = {"search_path": f'"{schema}"'} if schema else {}
    pool: asyncpg.Pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size,
                                                   server_settings=settings)
    return pool


async def migrate(conn: Any, version_table: str, migrations: Sequence[Sequence[str]], *,
                  stamped: bool = True) -> None:
    """Apply the migrations past the version recorded in ``version_table``; call it inside the
    transaction that holds the store's advisory lock. ``stamped``: the version table also records
    when (``applied_at``, epoch µs); the audit log's older ``audit_schema`` does not."""
    columns = "version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL" if stamped else "version INTEGER NOT NULL"
    await conn.execute(f"CREATE TABLE IF NOT EXISTS {version_table} ({columns})")
    current = await conn.fetchval(f"SELECT COALESCE(MAX(version), 0) FROM {version_table}")
    for version, statements in enumerate(migrations[current:], start=current + 1):
        for statement in statements:
            await conn.execute(statement)
        if stamped:
            await conn.execute(f"INSERT INTO {version_table} VALUES ($1,"
                               " (extract(epoch FROM clock_timestamp()) * 1000000)::bigint)", version)
        else:
            await conn.execute(f"INSERT INTO {version_table} (version) VALUES ($1)", version)


async def prepare(pool: asyncpg.Pool, schema: str | None, lock_key: int,
                  setup: Callable[[Any], Awaitable[None]]) -> None:
    """Under the advisory lock ``lock_key``, in one transaction: create ``schema`` if missing, then
    ``await setup(conn)`` (the store's migrations)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", lock_key)
        if schema:
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await setup(conn)


POOL_SIZE = (1, 10)   # one pool per worker serves the audit log and every registry


class SharedPool:
    """The worker's one pool to a database and schema, shared by every store that opens it."""

    _open: ClassVar[dict[tuple[int, str, str | None], SharedPool]] = {}

    def __init__(self, key: tuple[int, str, str | None]) -> None:
        self.key = key
        self.refs = 0
        self.ready: asyncio.Future[asyncpg.Pool] = asyncio.get_running_loop().create_future()

    @classmethod
    async def acquire(cls, dsn: str, schema: str | None) -> tuple[SharedPool, asyncpg.Pool]:
        key = (id(asyncio.get_running_loop()), dsn, schema)
        shared = cls._open.get(key)
        if shared is None:
            shared = cls._open[key] = cls(key)
            try:
                shared.ready.set_result(await create_pool(dsn, schema, min_size=POOL_SIZE[0],
                                                          max_size=POOL_SIZE[1]))
            except BaseException as exc:
                del cls._open[key]
                shared.ready.set_exception(exc)
                shared.ready.exception()   # retrieved: openers waiting on it get it raised
                raise
        shared.refs += 1
        try:
            pool = await asyncio.shield(shared.ready)
        except BaseException:
            shared.refs -= 1
            raise
        return shared, pool

    async def release(self) -> None:
        self.refs -= 1
        if self.refs > 0:
            return
        if self._open.get(self.key) is self:
            del self._open[self.key]
        await (await self.ready).close()

    @classmethod
    def open_count(cls) -> int:
        return len(cls._open)


class PostgresStore:
    """Base of a store on the worker's shared pool (``SharedPool``). Subclasses set their advisory
    ``lock_key`` and either ``version_table`` with ``MIGRATIONS`` or their own ``_setup``."""

    lock_key: ClassVar[int]
    version_table: ClassVar[str] = ""
    MIGRATIONS: ClassVar[list[list[str]]] = []

    def __init__(self, dsn: str, *, schema: str | None = None) -> None:
        check_schema(schema)
        self.dsn = dsn
        self.schema = schema
        self._shared: SharedPool | None = None
        self._pool: asyncpg.Pool | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError(f"{type(self).__name__} used before open()")
        return self._pool

    async def _setup(self, conn: Any) -> None:
        await migrate(conn, self.version_table, self.MIGRATIONS)

    async def open(self) -> None:
        if self._shared is not None:
            return
        self._shared, self._pool = await SharedPool.acquire(self.dsn, self.schema)
        try:
            await prepare(self._pool, self.schema, self.lock_key, self._setup)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        shared, self._shared, self._pool = self._shared, None, None
        if shared is not None:
            await shared.release()
