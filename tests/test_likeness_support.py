"""Shared fixtures for the likeness tests: the same suite runs on SQLite and on a real PostgreSQL.

PostgreSQL tests get a schema of their own (dropped afterwards), so runs never see each other's rows.
This module holds no tests itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.postgres.likeness import PostgresLikenessStore
from adapters.sqlite.likeness import SqliteLikenessStore
from middleware.likeness.service import ChangeRecord, LikenessService
from middleware.likeness.store import LikenessStore
from tests.services import shared_stores

T0 = 1_772_416_800.0  # 2026-03-02 02:00 UTC
SHA = "ab" * 32
StoreFactory = Callable[[], Any]


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", "postgres"])
async def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreFactory]:
    """An async factory of opened stores that all share one database (as replicas would)."""
    if request.param == "postgres":
        request.applymarker(pytest.mark.services)
    async with shared_stores(request.param, tmp_path, "likeness_t", SqliteLikenessStore,
                             PostgresLikenessStore) as make:
        yield make

@pytest.fixture
async def store(new_store: StoreFactory) -> LikenessStore:
    return await new_store()  # type: ignore[no-any-return]


class Recorder:
    def __init__(self) -> None:
        self.records: list[ChangeRecord] = []

    async def __call__(self, record: ChangeRecord) -> None:
        self.records.append(record)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def service(store: LikenessStore, clock: Clock, recorder: Recorder) -> LikenessService:
    return LikenessService(store, on_change=recorder, clock=clock)


def persona(pid: str = "lin", subject: str | None = "subj-lin", kinds: tuple[str, ...] = ("face", "voice"),
            **likeness: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"id": pid, "display_name": f"Persona {pid}", "relationship": "companion"}
    if subject is not None:
        body["likeness"] = {"subject_id": subject, "kinds": list(kinds), **likeness}
    return body


def consent(subject: str = "subj-lin", scopes: tuple[str, ...] = ("face", "voice"), granted_by: str = "subject",
            **extra: Any) -> dict[str, Any]:
    return {"subject_id": subject, "granted_by": granted_by, "scopes": list(scopes),
            "purpose": "companion app digital human", "evidence_sha256": SHA, **extra}
