"""The complaints store contract, run unchanged against SQLite and a real PostgreSQL (own schema per test)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from adapters.stores.complaints import PostgresComplaintStore, SqliteComplaintStore
from middleware.complaints.models import Complaint
from middleware.complaints.store import ComplaintStore
from tests.services import shared_stores

Factory = Callable[[], Awaitable[ComplaintStore]]
DAY = 86400.0


@pytest.fixture(params=["sqlite", "postgres"])
async def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Factory]:
    if request.param == "postgres":
        request.applymarker(pytest.mark.services)
    async with shared_stores(request.param, tmp_path, "complaints_t", SqliteComplaintStore,
                             PostgresComplaintStore) as make:
        yield make


def complaint(cid: str, *, app: str = "a", user: str = "u1", at: float = 1_000_000.0, within: float = 15 * DAY,
              category: str = "content") -> Complaint:
    return Complaint(id=cid, app_id=app, user_id=user, category=category, text=f"text of {cid} 你好",
                     session_id="s1", created_at=at, due_by=at + within)


async def test_round_trip_is_exact(new_store: Factory) -> None:
    store = await new_store()
    c = complaint("c1")
    await store.insert(c)
    assert await store.get("c1") == c
    assert await store.get("missing") is None


async def test_find_filters_by_status_app_user_and_due_date(new_store: Factory) -> None:
    store = await new_store()
    await store.insert(complaint("old", at=1_000.0, within=DAY))
    await store.insert(complaint("new", at=2 * DAY, user="u2"))
    await store.insert(complaint("other-app", app="b", at=3 * DAY))
    ids = [c.id for c in await store.find(status=None, app_id=None, user_id=None, due_before=None, limit=10)]
    assert ids == ["other-app", "new", "old"]                           # newest first
    assert [c.id for c in await store.find(status="open", app_id="a", user_id=None, due_before=None, limit=10)] \
        == ["new", "old"]
    assert [c.id for c in await store.find(status=None, app_id=None, user_id="u2", due_before=None, limit=10)] \
        == ["new"]
    assert [c.id for c in await store.find(status="open", app_id=None, user_id=None, due_before=2 * DAY,
                                           limit=10)] == ["old"]
    assert len(await store.find(status=None, app_id=None, user_id=None, due_before=None, limit=1)) == 1


async def test_resolve_once_even_when_two_operators_race(new_store: Factory) -> None:
    one, two = await new_store(), await new_store()
    await one.insert(complaint("c1"))
    results = await asyncio.gather(one.resolve("c1", 2_000_000.0, "answered by phone"),
                                   two.resolve("c1", 2_000_001.0, "answered by mail"))
    done = [r for r in results if r is not None]
    assert len(done) == 1 and done[0].status == "resolved" and done[0].resolution in ("answered by phone",
                                                                                       "answered by mail")
    stored = await two.get("c1")
    assert stored == done[0]
    assert await one.resolve("c1", 3_000_000.0, "again") is None
    assert await one.resolve("missing", 3_000_000.0, "x") is None
    assert [c.id for c in await one.find(status="resolved", app_id=None, user_id=None, due_before=None,
                                         limit=10)] == ["c1"]
