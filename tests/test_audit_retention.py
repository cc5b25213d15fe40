"""Erasure (crypto-shredding) and retention purges keep the log verifiable."""

from __future__ import annotations

import asyncio
import io
import json
import time

import pytest

from middleware.audit.events import AuditUnavailable
from middleware.audit.export import export
from middleware.audit.keys import AuditKeys
from middleware.audit.store import EventFilter
from middleware.audit.verify import verify_store

from .test_audit_support import Backend, FaultyStore, backend_fixture, draft, fresh_store, keys_fixture, open_log  # noqa: F401


async def check(backend: Backend, keys: AuditKeys, **kw: object) -> None:
    store = await fresh_store(backend)
    try:
        result = await verify_store(store, {keys.key_id: keys.public}, **kw)  # type: ignore[arg-type]
    finally:
        await store.close()
    assert result.ok, result.problems


async def exported(backend: Backend, keys: AuditKeys, flt: EventFilter) -> list[dict[str, object]]:
    store = await fresh_store(backend)
    out = io.StringIO()
    try:
        await export(store, flt, out, "jsonl", keys.master)
    finally:
        await store.close()
    return [json.loads(line) for line in out.getvalue().splitlines()]


async def test_erasure_shreds_content_and_verify_stays_clean(backend: Backend, keys: AuditKeys) -> None:
    log = await open_log(backend, keys)
    for i in range(3):
        await log.append(draft(i, user="alice", session="sa", content={"messages": [{"role": "user",
                                                                                       "content": f"secret {i}"}]}))
        await log.append(draft(i, user="bob", session="sb", content={"reply": f"bob {i}"}))
    before = await exported(backend, keys, EventFilter(session_id="sa"))
    assert [e["content"]["messages"][0]["content"] for e in before] == ["secret 0", "secret 1", "secret 2"]

    event, destroyed, deleted = await log.erase_user("alice", actor="test")
    assert (destroyed, deleted) == (1, 3)
    assert event.kind == "erasure" and event.user_ref == keys.user_ref("alice")
    # the content written after the erasure gets a new key and stays readable
    await log.append(draft(9, user="alice", session="sa2", content={"reply": "after"}))
    await log.close()

    alice = await exported(backend, keys, EventFilter(user_ref=keys.user_ref("alice")))
    contents = [e["content"] for e in alice if e["kind"] == "exchange"]
    assert contents == ["erased", "erased", "erased", {"reply": "after"}]
    assert [e["content"] for e in await exported(backend, keys, EventFilter(session_id="sb"))] == [
        {"reply": "bob 0"}, {"reply": "bob 1"}, {"reply": "bob 2"}]
    assert (await backend.sql("SELECT count(*) FROM audit_events WHERE body LIKE '%secret%'"))[0][0] == 0
    assert (await backend.sql("SELECT count(*) FROM audit_keys WHERE user_ref = ?", keys.user_ref("alice")))[0][0] == 1
    await check(backend, keys)


async def test_spooled_content_of_an_erased_user_does_not_come_back(backend: Backend, keys: AuditKeys) -> None:
    store = FaultyStore(backend.store())
    log = await open_log(backend, keys, store=store)
    await log.append(draft(0, user="carol", fail_mode="open", content={"reply": "before"}))
    store.down = True
    await log.append(draft(1, user="carol", fail_mode="open", content={"reply": "spooled"}))
    # another replica erases carol while this one is cut off from the store
    other = await open_log(backend, keys)
    await other.erase_user("carol")
    await other.close()
    store.down = False
    for _ in range(250):
        if log.healthy:
            break
        await asyncio.sleep(0.02)
    await log.close()
    rows = await exported(backend, keys, EventFilter(user_ref=keys.user_ref("carol"), kind="exchange"))
    assert [e["content"] for e in rows] == ["erased", "erased"]
    assert (await backend.sql("SELECT count(*) FROM audit_content"))[0][0] == 0
    await check(backend, keys)


async def test_erasure_fails_closed_when_the_store_is_down(backend: Backend, keys: AuditKeys) -> None:
    store = FaultyStore(backend.store())
    log = await open_log(backend, keys, store=store)
    store.down = True
    with pytest.raises(AuditUnavailable):
        await log.erase_user("alice")
    store.down = False
    await log.close()


async def test_purge_keeps_what_remains_verifiable(backend: Backend, keys: AuditKeys) -> None:
    anchor = backend.tmp / "anchor.jsonl"
    log = await open_log(backend, keys, anchor_file=anchor, checkpoint_every=5)
    old = [await log.append(draft(i, content={"reply": "old"})) for i in range(12)]
    other = await open_log(backend, keys, anchor_file=anchor)  # a second stream, entirely old
    await other.append(draft(0))
    await other.close()
    await asyncio.sleep(0.05)
    cutoff = time.time()
    await asyncio.sleep(0.02)
    new = [await log.append(draft(i, content={"reply": "new"})) for i in range(3)]
    purge = await log.purge(time.time() - cutoff)
    detail = purge.to_dict()["decisions"][0]["detail"]
    assert purge.kind == "purge" and detail["deleted"] >= 14 and len(detail["anchors"]) == 2
    after = await log.append(draft(99))
    await log.close()

    remaining = {r[0] for r in await backend.sql("SELECT event_id FROM audit_events")}
    assert not remaining & {e.event_id for e in old}
    assert {e.event_id for e in new} | {purge.event_id, after.event_id} <= remaining
    assert (await backend.sql("SELECT count(*) FROM audit_content"))[0][0] == 3
    await check(backend, keys)
    await check(backend, keys, anchor_file=anchor)

    # a second purge later (anchors move on) still leaves a clean log
    log = await open_log(backend, keys, anchor_file=anchor)
    await log.purge(0.001)
    await log.close()
    await check(backend, keys, anchor_file=anchor)


async def test_deleting_more_than_the_purge_did_is_detected(backend: Backend, keys: AuditKeys) -> None:
    log = await open_log(backend, keys)
    for i in range(5):
        await log.append(draft(i))
    await asyncio.sleep(0.05)
    cutoff = time.time()
    await asyncio.sleep(0.02)  # keep the kept events clear of the cutoff
    kept = [await log.append(draft(i)) for i in range(5)]
    await log.purge(time.time() - cutoff)
    await log.close()
    await check(backend, keys)
    s = kept[0].stream
    await backend.sql("DELETE FROM audit_events WHERE stream = ? AND seq = ?", s, kept[0].seq)
    store = await fresh_store(backend)
    result = await verify_store(store, {keys.key_id: keys.public})
    await store.close()
    assert result.first is not None and result.first.seq == kept[1].seq
    assert "without a signed purge anchor" in result.first.reason


async def test_retention_job_purges_in_the_background(backend: Backend, keys: AuditKeys) -> None:
    log = await open_log(backend, keys)
    e = await log.append(draft(0))
    await asyncio.sleep(0.05)
    job = asyncio.create_task(log.run_retention(0.02, every=3600))
    for _ in range(100):
        kinds = [r[0] for r in await backend.sql("SELECT kind FROM audit_events")]
        if "purge" in kinds:
            break
        await asyncio.sleep(0.02)
    job.cancel()
    await log.close()
    assert "purge" in kinds
    assert e.event_id not in {r[0] for r in await backend.sql("SELECT event_id FROM audit_events")}
    await check(backend, keys)
