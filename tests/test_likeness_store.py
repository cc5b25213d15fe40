"""The store contract, run unchanged against SQLite and a real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from adapters.postgres.likeness import PostgresLikenessStore
from adapters.sqlite.likeness import SqliteLikenessStore
from middleware.likeness.models import Consent, Likeness, Persona, Subject
from middleware.likeness.store import AlreadyExists, Conflict, LikenessStore, NotFound
from tests.test_likeness_support import SHA, StoreFactory

AT = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)

pytest_plugins = ["tests.test_likeness_support"]  # the shared store/service fixtures


def make_persona(pid: str = "lin", subject: str | None = "subj", enabled: bool = True) -> Persona:
    likeness = Likeness(subject_id=subject, kinds=["face", "voice"]) if subject else None
    return Persona(id=pid, display_name="Lin", relationship="friend", likeness=likeness, enabled=enabled,
                   created_at=AT, updated_at=AT)


def make_consent(cid: str, subject: str = "subj", replaces: str | None = None, **kw: object) -> Consent:
    fields: dict[str, object] = {
        "id": cid, "subject_id": subject, "granted_by": "subject", "scopes": ["face", "voice"], "purpose": "demo",
        "valid_from": AT, "valid_until": AT + timedelta(days=30), "evidence_sha256": SHA,
        "created_at": AT + timedelta(microseconds=7), "replaces": replaces, "actor": "test", **kw,
    }
    return Consent.model_validate(fields)


async def test_persona_round_trip_with_subject_facts(store: LikenessStore) -> None:
    p = make_persona()
    await store.insert_persona(p, Subject(id="subj", deceased=True, birth_date=date(1950, 5, 4)))
    got = await store.get_persona("lin")
    assert got is not None and got.likeness is not None
    assert got.likeness.deceased is True and got.likeness.subject_birth_date == date(1950, 5, 4)
    assert got.created_at == AT
    assert await store.get_subject("subj") == Subject(id="subj", deceased=True, birth_date=date(1950, 5, 4))
    assert await store.get_persona("nobody") is None
    with pytest.raises(AlreadyExists):
        await store.insert_persona(p, None)


async def test_update_persona_and_missing_persona(store: LikenessStore) -> None:
    await store.insert_persona(make_persona(subject=None), None)
    await store.update_persona(make_persona(subject=None, enabled=False).model_copy(update={"display_name": "X"}),
                               None)
    got = await store.get_persona("lin")
    assert got is not None and got.enabled is False and got.display_name == "X"
    with pytest.raises(NotFound):
        await store.update_persona(make_persona("ghost", subject=None), None)
    assert [p.id for p in await store.list_personas()] == ["lin"]


async def test_revision_moves_with_every_write(store: LikenessStore) -> None:
    r0 = await store.revision()
    await store.insert_persona(make_persona(), Subject(id="subj"))
    r1 = await store.revision()
    await store.insert_consent(make_consent("c1"))
    r2 = await store.revision()
    await store.revoke_consent("c1", AT, "withdrawn", "test")
    r3 = await store.revision()
    assert r0 < r1 < r2 < r3


async def test_consent_round_trip_is_exact(store: LikenessStore) -> None:
    await store.insert_persona(make_persona(), Subject(id="subj"))
    c = make_consent("c1", valid_until=None)
    await store.insert_consent(c)
    assert await store.get_consent("c1") == c
    with pytest.raises(AlreadyExists):
        await store.insert_consent(c)
    with pytest.raises(NotFound):
        await store.insert_consent(make_consent("c2", subject="nobody-registered"))


async def test_revoke_appends_and_cannot_repeat(store: LikenessStore) -> None:
    await store.insert_persona(make_persona(), Subject(id="subj"))
    await store.insert_consent(make_consent("c1"))
    await store.revoke_consent("c1", AT + timedelta(hours=1), "withdrawn by subject", "test")
    got = await store.get_consent("c1")
    assert got is not None
    assert got.revoked_at == AT + timedelta(hours=1) and got.revoked_reason == "withdrawn by subject"
    with pytest.raises(Conflict, match="already revoked"):
        await store.revoke_consent("c1", AT, "again", "test")
    with pytest.raises(NotFound):
        await store.revoke_consent("nope", AT, "x", "test")


async def test_replace_revokes_the_old_one_atomically(store: LikenessStore) -> None:
    await store.insert_persona(make_persona(), Subject(id="subj"))
    await store.insert_persona(make_persona("other", subject="subj2"), Subject(id="subj2"))
    await store.insert_consent(make_consent("c1"))
    await store.insert_consent(make_consent("c2", replaces="c1"))
    old, new = await store.get_consent("c1"), await store.get_consent("c2")
    assert old is not None and new is not None
    assert old.replaced_by == "c2" and old.revoked_reason == "replaced by c2"
    assert new.replaces == "c1" and new.revoked_at is None
    with pytest.raises(Conflict, match="already revoked"):
        await store.insert_consent(make_consent("c3", replaces="c1"))
    with pytest.raises(Conflict, match="same subject"):
        await store.insert_consent(make_consent("c4", subject="subj2", replaces="c2"))
    # a refused replacement leaves nothing behind
    assert await store.get_consent("c3") is None and await store.get_consent("c4") is None
    assert [c.id for c in await store.list_consents("subj")] == ["c1", "c2"]


async def test_gate_state_has_persona_and_unrevoked_consents_only(store: LikenessStore) -> None:
    await store.insert_persona(make_persona(), Subject(id="subj"))
    await store.insert_consent(make_consent("c1"))
    await store.insert_consent(make_consent("c2"))
    await store.revoke_consent("c1", AT, "withdrawn", "test")
    state = await store.load_gate_state("lin")
    assert state is not None
    assert state.persona.id == "lin" and [c.id for c in state.consents] == ["c2"]
    assert await store.load_gate_state("nobody") is None


async def test_ledger_rows_cannot_be_edited_or_deleted_even_with_sql(store: LikenessStore) -> None:
    await store.insert_persona(make_persona(), Subject(id="subj"))
    await store.insert_consent(make_consent("c1"))
    await store.revoke_consent("c1", AT, "withdrawn", "test")
    statements = ["UPDATE likeness_consents SET scopes = 'face,voice,name' WHERE id = 'c1'",
                  "DELETE FROM likeness_consents WHERE id = 'c1'",
                  "DELETE FROM likeness_revocations WHERE consent_id = 'c1'",
                  "UPDATE likeness_revocations SET reason = 'x'"]
    for sql in statements:
        with pytest.raises(Exception, match="append-only"):
            await raw_execute(store, sql)
    assert (await store.get_consent("c1")) is not None


async def test_migrations_are_idempotent_and_shared(new_store: StoreFactory) -> None:
    first = await new_store()
    await first.insert_persona(make_persona(subject=None), None)
    second = await new_store()  # another replica opening the same database
    assert [p.id for p in await second.list_personas()] == ["lin"]
    assert await raw_fetch(second, "SELECT MAX(version) FROM likeness_schema_version") == 1


async def raw_execute(store: LikenessStore, sql: str) -> None:
    if isinstance(store, SqliteLikenessStore):
        await store._run(store._db.execute, sql)
    else:
        assert isinstance(store, PostgresLikenessStore)
        await store.pool.execute(sql)


async def raw_fetch(store: LikenessStore, sql: str) -> object:
    if isinstance(store, SqliteLikenessStore):
        return (await store._run(store._one, sql, ()))[0]
    assert isinstance(store, PostgresLikenessStore)
    return await store.pool.fetchval(sql)
