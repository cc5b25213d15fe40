"""Hash chains, checkpoints and verification, on SQLite and PostgreSQL; every tamper kind is caught."""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

import orjson
import pytest

from middleware.audit.chain import signed_message
from middleware.audit.events import GENESIS, EventDraft, canonical_json, new_event_id
from middleware.audit.keys import AuditKeys
from middleware.audit.verify import VerifyResult, verify_store
from tests.test_audit_support import Backend, backend_fixture, draft, fresh_store, keys_fixture, open_log  # noqa: F401


async def write(backend: Backend, keys: AuditKeys, n: int, **kw: Any) -> list[Any]:
    log = await open_log(backend, keys, **kw)
    events = [await log.append(draft(i)) for i in range(n)]
    await log.close()
    return events


async def verify(backend: Backend, keys: AuditKeys, **kw: Any) -> VerifyResult:
    store = await fresh_store(backend)
    try:
        return await verify_store(store, {keys.key_id: keys.public}, **kw)
    finally:
        await store.close()


async def rewrite(backend: Backend, stream: str, seq: int, mutate: Any, rechain: bool = False) -> None:
    """Change an event and recompute its hash (and, with ``rechain``, every later hash): a careful forger."""
    rows = await backend.sql("SELECT seq, body, hash FROM audit_events WHERE stream = ? AND seq >= ? ORDER BY seq",
                             stream, seq)
    prev: str | None = None
    for s, body, _ in rows:
        ev = orjson.loads(body)
        if s == seq:
            mutate(ev)
        elif not rechain:
            break
        if prev is not None:
            ev["prev_hash"] = prev
        new_body = canonical_json(ev).decode()
        prev = hashlib.sha256(new_body.encode()).hexdigest()
        await backend.sql("UPDATE audit_events SET body = ?, hash = ? WHERE stream = ? AND seq = ?",
                          new_body, prev, stream, s)
    await backend.sql("UPDATE audit_streams SET head_hash = (SELECT hash FROM audit_events e WHERE "
                      "e.stream = audit_streams.stream AND e.seq = audit_streams.head_seq) WHERE stream = ?", stream)


async def test_chain_links_and_verifies_clean(backend: Backend, keys: AuditKeys) -> None:
    events = await write(backend, keys, 25)
    stream = events[0].stream
    # 1: the signed stream start; 12, 23: checkpoints; 29: the signed end at close
    assert [e.seq for e in events] == [*range(2, 12), *range(13, 23), *range(24, 29)]
    rows = await backend.sql("SELECT seq, body, hash, kind FROM audit_events WHERE stream = ? ORDER BY seq", stream)
    assert json.loads(rows[0][1])["prev_hash"] == GENESIS
    assert [r[0] for r in rows] == list(range(1, 30))  # 25 events + start + 2 checkpoints + end
    assert [r[3] for r in rows].count("checkpoint") == 4
    phases = [json.loads(r[1])["decisions"][0]["detail"].get("phase") for r in rows if r[3] == "checkpoint"]
    assert phases == ["start", None, None, "end"]
    prev = GENESIS
    for _, body, digest, _ in rows:
        ev = json.loads(body)
        assert ev["prev_hash"] == prev
        # an auditor's re-implementation with the standard library gives the same hash
        again = json.dumps(ev, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        assert hashlib.sha256(again).hexdigest() == digest
        prev = digest
    result = await verify(backend, keys)
    assert result.ok, result.problems
    assert (result.events, result.streams, result.checkpoints) == (29, 1, 4)


async def test_event_has_exactly_the_contract_fields(backend: Backend, keys: AuditKeys) -> None:
    (event,) = await write(backend, keys, 1)
    assert list(event.to_dict()) == ([
        "event_id", "seq", "stream", "ts", "kind", "app_id", "user_ref", "session_id", "persona_id", "policy_id",
        "policy_version", "decisions", "notices", "status", "latency_ms", "upstream_model", "content_ref",
        "prev_hash", "hash"])
    d = event.to_dict()
    assert d["user_ref"] == keys.user_ref("alice") and "alice" not in event.body.decode()
    assert d["decisions"][0] == {"rule": "disclosure", "cites": ["ANTH-DISC-1"], "outcome": "applied",
                                 "detail": {"n": 0, "age_band": "adult"}}


async def test_concurrent_writers_each_keep_their_own_stream(backend: Backend, keys: AuditKeys) -> None:
    a, b = await open_log(backend, keys), await open_log(backend, keys)
    got = await asyncio.gather(*[(a if i % 2 else b).append(draft(i)) for i in range(60)])
    await a.close()
    await b.close()
    assert a.stream != b.stream and {e.stream for e in got} == {a.stream, b.stream}
    result = await verify(backend, keys)
    assert result.ok and result.streams == 2, result.problems


async def test_named_stream_continues_from_its_stored_head(backend: Backend, keys: AuditKeys) -> None:
    first = await write(backend, keys, 3, stream="replica-a")
    second = await write(backend, keys, 2, stream="replica-a")
    assert first[0].stream == second[0].stream == "replica-a"
    assert second[0].seq == first[-1].seq + 3  # after the signed end and the signed resume
    assert (await verify(backend, keys)).ok


async def test_changed_field_is_named(backend: Backend, keys: AuditKeys) -> None:
    events = await write(backend, keys, 25)
    target = events[4]
    await backend.sql("UPDATE audit_events SET body = replace(body, '\"status\":200', '\"status\":451') "
                      "WHERE stream = ? AND seq = ?", target.stream, target.seq)
    result = await verify(backend, keys)
    assert not result.ok
    assert (result.first.seq, result.first.event_id) == (target.seq, target.event_id)
    assert "hash mismatch" in result.first.reason


async def test_changed_field_with_recomputed_hash_breaks_the_link(backend: Backend, keys: AuditKeys) -> None:
    events = await write(backend, keys, 25)
    target = events[4]
    await rewrite(backend, target.stream, target.seq, lambda ev: ev.update(status=451))
    result = await verify(backend, keys)
    assert result.first is not None and result.first.seq == target.seq + 1
    assert f"hash of seq {target.seq}" in result.first.reason


async def test_rewritten_chain_is_caught_by_the_signed_checkpoint(backend: Backend, keys: AuditKeys) -> None:
    events = await write(backend, keys, 25)
    target = events[4]
    await rewrite(backend, target.stream, target.seq, lambda ev: ev.update(status=451), rechain=True)
    result = await verify(backend, keys)
    assert result.first is not None and result.first.seq == 12  # the first checkpoint after the change
    assert "checkpoint" in result.first.reason


async def test_deleted_event_is_named(backend: Backend, keys: AuditKeys) -> None:
    events = await write(backend, keys, 25)
    gone = events[6]
    await backend.sql("DELETE FROM audit_events WHERE stream = ? AND seq = ?", gone.stream, gone.seq)
    result = await verify(backend, keys)
    assert result.first is not None and result.first.seq == gone.seq + 1
    assert f"seq {gone.seq} missing" in result.first.reason and "deleted" in result.first.reason


async def test_reordered_pair_is_named(backend: Backend, keys: AuditKeys) -> None:
    events = await write(backend, keys, 25)
    s, a, b = events[0].stream, events[3].seq, events[4].seq
    await backend.sql("UPDATE audit_events SET seq = -1 WHERE stream = ? AND seq = ?", s, a)
    await backend.sql("UPDATE audit_events SET seq = ? WHERE stream = ? AND seq = ?", a, s, b)
    await backend.sql("UPDATE audit_events SET seq = ? WHERE stream = ? AND seq = -1", b, s)
    result = await verify(backend, keys)
    assert result.first is not None and result.first.seq == a
    assert result.first.event_id == events[4].event_id and "reordered" in result.first.reason


async def test_truncated_tail_up_to_last_checkpoint_is_detected(backend: Backend, keys: AuditKeys) -> None:
    events = await write(backend, keys, 25)
    s = events[0].stream
    await backend.sql("DELETE FROM audit_events WHERE stream = ? AND seq >= 23", s)  # from the 2nd checkpoint on
    result = await verify(backend, keys)
    assert result.first is not None and result.first.seq == 22
    assert "truncated tail" in result.first.reason


async def test_truncation_with_stream_table_rolled_back_is_caught_by_the_anchor_file(
        backend: Backend, keys: AuditKeys) -> None:
    anchor = backend.tmp / "anchor.jsonl"
    events = await write(backend, keys, 25, anchor_file=anchor)
    s = events[0].stream
    assert (await verify(backend, keys, anchor_file=anchor)).ok
    # a careful intruder: cut the tail after seq 16 and make the stream table agree, restoring the
    # genuinely signed first checkpoint so nothing inside the database looks wrong
    await backend.sql("DELETE FROM audit_events WHERE stream = ? AND seq > 16", s)
    (cp_body,) = (await backend.sql("SELECT body FROM audit_events WHERE stream = ? AND seq = 12", s))[0]
    d = json.loads(cp_body)["decisions"][0]["detail"]
    (h16,) = (await backend.sql("SELECT hash FROM audit_events WHERE stream = ? AND seq = 16", s))[0]
    await backend.sql("UPDATE audit_streams SET head_seq = 16, head_hash = ?, cp_seq = ?, cp_hash = ?, cp_sig = ? "
                      "WHERE stream = ?", h16, d["seq"], d["hash"], d["sig"], s)
    plain = await verify(backend, keys)
    # without the anchor file this is invisible (documented), but verify says the tail is unsigned
    assert plain.ok and any(f"stream {s} seq 12..16" in c for c in plain.caveats), plain.caveats
    result = await verify(backend, keys, anchor_file=anchor)
    assert result.first is not None and result.first.seq == 16
    assert "truncated tail" in result.first.reason and "anchor file" in result.first.reason


async def test_forged_checkpoint_is_named(backend: Backend, keys: AuditKeys) -> None:
    events = await write(backend, keys, 25)
    s = events[0].stream
    forger = AuditKeys.generate()

    def forge(ev: dict[str, Any]) -> None:
        d = ev["decisions"][0]["detail"]
        d["sig"] = forger.sign(signed_message("checkpoint", stream=s, seq=d["seq"], hash=d["hash"]))

    await rewrite(backend, s, 23, forge, rechain=True)
    result = await verify(backend, keys)
    assert result.first is not None and result.first.seq == 23
    assert "forged checkpoint" in result.first.reason


async def test_checkpoint_moved_to_cover_another_event_is_caught(backend: Backend, keys: AuditKeys) -> None:
    events = await write(backend, keys, 25)
    s = events[0].stream
    await rewrite(backend, s, 23, lambda ev: ev["decisions"][0]["detail"].update(seq=5), rechain=True)
    result = await verify(backend, keys)
    assert result.first is not None and result.first.seq == 23 and "checkpoint" in result.first.reason


async def test_periodic_checkpoint_by_time(backend: Backend, keys: AuditKeys) -> None:
    log = await open_log(backend, keys, checkpoint_every=10_000, checkpoint_interval=0.05)
    await log.append(draft())

    async def kinds_now() -> list[str]:
        return [r[0] for r in await backend.sql("SELECT kind FROM audit_events ORDER BY seq")]

    async with asyncio.timeout(30):   # due 0.05 s after the event; generous for a busy machine
        while (await kinds_now()).count("checkpoint") < 2:  # noqa: ASYNC110 (a query, not an event)
            await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)   # several more intervals pass: still no checkpoint without a new event
    kinds = await kinds_now()
    await log.close()
    assert kinds == ["checkpoint", "exchange", "checkpoint"]  # the signed start, the event, a timed checkpoint


def test_new_event_id_is_unique_and_time_ordered() -> None:
    ids = [new_event_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids) and ids == sorted(ids)


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown audit event kind"):
        EventDraft(event_id=new_event_id(), kind="chat")
