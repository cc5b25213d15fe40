"""Shared fixtures for the profile tests: the same suite runs on SQLite and on a real PostgreSQL.

PostgreSQL tests get a schema of their own (dropped afterwards), so runs never see each other's rows.
This module holds no tests itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from adapters.postgres.profiles import PostgresProfileStore
from adapters.sqlite.profiles import SqliteProfileStore
from middleware.profiles.service import ChangeRecord
from middleware.profiles.store import ProfileStore
from tests.services import shared_stores

StoreFactory = Callable[[], Awaitable[ProfileStore]]


@pytest.fixture(params=["sqlite", "postgres"])
async def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreFactory]:
    """An async factory of opened stores that all share one database (as replicas would)."""
    if request.param == "postgres":
        request.applymarker(pytest.mark.services)
    async with shared_stores(request.param, tmp_path, "profiles_t", SqliteProfileStore,
                             PostgresProfileStore) as make:
        yield make

@pytest.fixture
async def store(new_store: StoreFactory) -> ProfileStore:
    return await new_store()


class Recorder:
    """An ``on_change`` hook that keeps what it was given."""

    def __init__(self) -> None:
        self.records: list[ChangeRecord] = []

    async def __call__(self, record: ChangeRecord) -> None:
        self.records.append(record)
