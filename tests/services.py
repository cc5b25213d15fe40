"""Real services for integration tests: PostgreSQL and Redis on loopback.

A test that needs one calls ``require_postgres()`` / ``require_redis()``. When the service is not
reachable the test is skipped with a reason saying how to enable it, or fails when
``CANDOR_REQUIRE_SERVICES=1`` (CI sets it, so a missing service can never pass silently).
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

PG_DSN = os.environ.get("CANDOR_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("CANDOR_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=0.5):
            return True
    except OSError:
        return False


def _missing(reason: str) -> None:
    if os.environ.get("CANDOR_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (CANDOR_REQUIRE_SERVICES=1, so this is a failure, not a skip)")
    pytest.skip(reason)


def require_postgres() -> str:
    """The DSN of a reachable PostgreSQL database, else skip (or fail under CANDOR_REQUIRE_SERVICES=1)."""
    if not _reachable(PG_DSN, 5432):
        _missing(f"PostgreSQL not reachable at {PG_DSN}; start it or set CANDOR_TEST_PG_DSN "
                 "(e.g. postgresql://postgres@127.0.0.1:5432/test)")
    return PG_DSN


def require_redis() -> str:
    """The URL of a reachable Redis, else skip (or fail under CANDOR_REQUIRE_SERVICES=1)."""
    if not _reachable(REDIS_URL, 6379):
        _missing(f"Redis not reachable at {REDIS_URL}; start it or set CANDOR_TEST_REDIS_URL "
                 "(e.g. redis://127.0.0.1:6379/0)")
    return REDIS_URL


@contextlib.asynccontextmanager
async def shared_stores(kind: str, tmp: Path, prefix: str, sqlite: Callable[[Path], Any],
                        postgres: Callable[..., Any]) -> AsyncIterator[Callable[[], Awaitable[Any]]]:
    """A factory of opened stores that all share one database, as replicas (or a restart) would: a SQLite
    file in ``tmp``, or a fresh schema named ``<prefix>_<random>`` in the test PostgreSQL, dropped after."""
    import asyncpg

    opened: list[Any] = []
    schema = dsn = ""
    if kind == "postgres":
        dsn = require_postgres()
        schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
        conn = await asyncpg.connect(dsn)
        await conn.execute(f"CREATE SCHEMA {schema}")
        await conn.close()

    async def make() -> Any:
        store = sqlite(tmp / "audit.db") if kind == "sqlite" else postgres(dsn, schema=schema)
        await store.open()
        opened.append(store)
        return store

    try:
        yield make
    finally:
        for store in opened:
            await store.close()  # closing twice is harmless: a test may close one itself (a restart)
        if schema:
            conn = await asyncpg.connect(dsn)
            await conn.execute(f"DROP SCHEMA {schema} CASCADE")
            await conn.close()
