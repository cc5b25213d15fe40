"""The profile store contract, run unchanged against SQLite and a real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from adapters.wiring.alerts import build_alerts
from adapters.wiring.profiles import build_profiles
from middleware.alerts.models import Alert
from middleware.config.deployment import CandorConfig
from middleware.profiles.models import UserProfile
from middleware.profiles.store import Conflict, ProfileStore
from tests.services import require_postgres
from tests.test_profiles_support import StoreFactory

pytest_plugins = ["tests.test_profiles_support"]  # the shared store fixtures

AT = datetime(2026, 3, 2, 2, 0, 0, 123456, tzinfo=UTC)
def put(store: ProfileStore, user_id: str, profile: UserProfile):  # type: ignore[no-untyped-def]
    """Write ``profile`` whatever is stored (the service computes it from the old one instead)."""
    return store.update(user_id, lambda old: profile)


FULL = UserProfile(age_band="under14", guardian_consent=True, guardian_contact="mum +86 138",
                   emergency_contact="110", blocked_personas=["lover", "spouse-1"], unlabeled_allowed=True,
                   minors_mode=True, minors_mode_override=True, updated_at=AT)


async def test_round_trip_is_exact_and_versioned(store: ProfileStore) -> None:
    assert await store.get("alice") is None
    old, stored = await put(store, "alice", FULL)
    assert old is None and stored is not None and stored.version == 1
    assert await store.get("alice") == FULL.model_copy(update={"version": 1})
    assert await store.count() == 1


async def test_update_sees_the_old_profile_and_may_write_nothing(store: ProfileStore) -> None:
    await put(store, "alice", UserProfile(age_band="adult"))
    seen: list[UserProfile | None] = []

    def change(old: UserProfile | None) -> UserProfile | None:
        seen.append(old)
        return None

    old, written = await store.update("alice", change)
    assert written is None and old is not None and old.age_band == "adult" and seen == [old]
    old, written = await put(store, "alice", UserProfile(age_band="minor"))
    assert written is not None and written.version == 2
    got = await store.get("alice")
    assert got is not None and got.age_band == "minor" and got.version == 2


async def test_concurrent_updates_queue_instead_of_overwriting(new_store: StoreFactory) -> None:
    stores = [await new_store() for _ in range(3)]
    await put(stores[0], "alice", UserProfile())

    def add(persona: str):  # type: ignore[no-untyped-def]
        return lambda old: old.model_copy(update={"blocked_personas": [*old.blocked_personas, persona]})

    await asyncio.gather(*(stores[i % 3].update("alice", add(f"p{i}")) for i in range(12)))
    got = await stores[0].get("alice")
    assert got is not None and sorted(got.blocked_personas) == sorted(f"p{i}" for i in range(12))
    assert got.version == 13


async def test_changes_name_the_users_written_since_a_revision(store: ProfileStore) -> None:
    first = await store.changes(None)
    assert first.user_ids == ()
    await put(store, "a", UserProfile())
    await put(store, "b", UserProfile())
    after_two = await store.changes(first.revision)
    assert sorted(after_two.user_ids) == ["a", "b"] and after_two.revision > first.revision
    await put(store, "a", UserProfile(age_band="adult"))
    later = await store.changes(after_two.revision)
    assert later.user_ids == ("a",) and later.resets == first.resets
    assert (await store.changes(later.revision)).user_ids == ()


async def test_changes_truncate_when_too_many(store: ProfileStore) -> None:
    start = await store.changes(None)
    for i in range(5):
        await put(store, f"u{i}", UserProfile())
    ch = await store.changes(start.revision, limit=3)
    assert ch.truncated and len(ch.user_ids) == 3


async def test_delete_moves_the_reset_counter(store: ProfileStore) -> None:
    await put(store, "alice", UserProfile())
    before = await store.changes(None)
    assert await store.delete("alice") is True
    assert await store.delete("alice") is False
    after = await store.changes(before.revision)
    assert after.resets == before.resets + 1 and after.revision > before.revision
    assert await store.get("alice") is None


async def test_two_processes_share_one_database(new_store: StoreFactory) -> None:
    a, b = await new_store(), await new_store()
    await put(a, "alice", UserProfile(age_band="elderly"))
    got = await b.get("alice")
    assert got is not None and got.age_band == "elderly"


async def test_migrations_are_idempotent(new_store: StoreFactory) -> None:
    a = await new_store()
    await put(a, "alice", UserProfile(age_band="adult"))
    b = await new_store()  # opening again on a migrated database keeps the rows
    assert (await b.get("alice")) is not None


async def test_concurrent_first_writes_one_creates(new_store: StoreFactory) -> None:
    a, b = await new_store(), await new_store()
    results = await asyncio.gather(put(a, "race", UserProfile(age_band="adult")),
                                   put(b, "race", UserProfile(age_band="minor")), return_exceptions=True)
    # SQLite serialises the two transactions (the second sees the first's row and updates it);
    # PostgreSQL cannot lock a row that does not exist yet, so the loser may get Conflict and retries
    created = [r for r in results if isinstance(r, tuple) and r[0] is None]
    assert len(created) == 1
    assert all(isinstance(r, tuple | Conflict) for r in results)
    got = await a.get("race")
    assert got is not None and got.version == sum(isinstance(r, tuple) for r in results)


@pytest.mark.services
async def test_factory_reads_the_audit_url_and_its_schema_parameter() -> None:
    dsn = require_postgres()
    schema = f"Profiles_T_{uuid.uuid4().hex[:8]}"  # capitals: the schema is created and used as named
    cfg = CandorConfig.model_validate({"audit": {"url": f"{dsn}?schema={schema}"}})
    runtime = await build_profiles(cfg)
    alerts = await build_alerts(cfg)
    try:
        await runtime.service.put("alice", {"age_band": "elderly"}, actor="t")
        await alerts.outbox.enqueue(Alert(kind="crisis"))
        conn = await asyncpg.connect(dsn)
        try:
            tables = {r[0] for r in await conn.fetch(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", schema)}
            assert {"profiles_users", "profiles_revision", "alerts_outbox"} <= tables
        finally:
            await conn.close()
    finally:
        await runtime.close()
        await alerts.close()
        conn = await asyncpg.connect(dsn)
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()


async def test_user_ids_page_in_id_order(store: ProfileStore) -> None:
    for user in ("carol", "alice", "bob"):
        await put(store, user, FULL)
    assert await store.user_ids(10) == ["alice", "bob", "carol"]
    assert await store.user_ids(2) == ["alice", "bob"]
    assert await store.user_ids(10, after="bob") == ["carol"]
