"""Real services for integration tests: PostgreSQL and Redis on loopback.

A test that needs one calls ``require_postgres()`` / ``require_redis()``. When the service is not
reachable the test is skipped with a reason saying how to enable it, or fails when
``CANDOR_REQUIRE_SERVICES=1`` (CI sets it, so a missing service can never pass silently).
"""

from __future__ import annotations

import os
import socket
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
