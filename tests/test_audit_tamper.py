"""The insider and forger campaign of issue 14, replayed on SQLite and PostgreSQL: a fabricated stream,
events appended after a stream's signed end, a whole stream deleted, and a rewrite re-signed with the
host's own key. Each is detected (naming stream and seq), by the database alone where it can be and
by a receipt where only outside evidence can."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import orjson

from middleware.audit.chain import phase_message, signed_message
from middleware.audit.events import GENESIS, canonical_json, new_event_id, ts_micros
from middleware.audit.keys import AuditKeys
from middleware.audit.receipt import dump_receipt, load_receipt, make_receipt
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


def body_of(obj: dict[str, Any]) -> tuple[str, str]:
    body = canonical_json(obj).decode()
    return body, hashlib.sha256(body.encode()).hexdigest()


def fake_event(stream: str, seq: int, prev: str, **over: Any) -> dict[str, Any]:
    ev = {"event_id": new_event_id(), "seq": seq, "stream": stream, "ts": "2026-11-30T12:00:00.000000Z",
          "kind": "exchange", "app_id": "demo-app", "user_ref": None, "session_id": "s-forged", "persona_id": None,
          "policy_id": "cn-anthropomorphic-2026", "policy_version": "sha256:test",
          "decisions": [{"rule": "disclosure", "cites": [], "outcome": "applied", "detail": {}}], "notices": [],
          "status": 200, "latency_ms": 1.0, "upstream_model": "stub", "content_ref": None, "prev_hash": prev}
    ev.update(over)
    return ev


async def insert(backend: Backend, ev: dict[str, Any]) -> str:
    body, digest = body_of(ev)
    await backend.sql("INSERT INTO audit_events (stream, seq, event_id, ts_us, kind, user_ref, session_id, "
                      "content_ref, body, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", ev["stream"], ev["seq"],
                      ev["event_id"], ts_micros(ev["ts"]), ev["kind"], None, ev["session_id"], None, body, digest)
    return digest


async def test_fabricated_stream_with_valid_chain_and_table_row_is_named(backend: Backend, keys: AuditKeys) -> None:
    await write(backend, keys, 3)
    prev = GENESIS
    for seq in (1, 2, 3):
        prev = await insert(backend, fake_event("forged-stream", seq, prev))
    await backend.sql("INSERT INTO audit_streams (stream, head_seq, head_hash, head_ts_us) VALUES (?, 3, ?, 1)",
                      "forged-stream", prev)
    result = await verify(backend, keys)
    assert not result.ok
    assert (result.first.stream, result.first.seq) == ("forged-stream", 1)
    assert "no signed stream start" in result.first.reason


async def test_forged_stream_reusing_a_genuine_start_record_is_named(backend: Backend, keys: AuditKeys) -> None:
    events = await write(backend, keys, 2)
    (start_body,) = (await backend.sql("SELECT body FROM audit_events WHERE stream = ? AND seq = 1",
                                       events[0].stream))[0]
    start = json.loads(start_body)
    start.update(stream="copied-start", event_id=new_event_id())
    start["decisions"][0]["detail"]["stream"] = "copied-start"   # the signature still names the original
    h = await insert(backend, start)
    await insert(backend, fake_event("copied-start", 2, h))
    result = await verify(backend, keys)
    assert not result.ok and (result.first.stream, result.first.seq) == ("copied-start", 1)
    assert "forged stream start" in result.first.reason


async def test_events_appended_after_the_signed_end_are_named(backend: Backend, keys: AuditKeys) -> None:
    events = await write(backend, keys, 4)
    s = events[0].stream
    (head_seq, head_hash) = (await backend.sql("SELECT head_seq, head_hash FROM audit_streams WHERE stream = ?",
                                               s))[0]
    digest = await insert(backend, fake_event(s, head_seq + 1, head_hash))
    await backend.sql("UPDATE audit_streams SET head_seq = ?, head_hash = ? WHERE stream = ?",
                      head_seq + 1, digest, s)
    result = await verify(backend, keys)
    assert not result.ok and (result.first.stream, result.first.seq) == (s, head_seq + 1)
    assert "after the stream's signed end" in result.first.reason


async def test_deleted_stream_is_named_without_an_anchor_file(backend: Backend, keys: AuditKeys) -> None:
    gone = (await write(backend, keys, 3))[0].stream
    await write(backend, keys, 2)   # a later stream: its signed start lists the first one
    await backend.sql("DELETE FROM audit_events WHERE stream = ?", gone)
    await backend.sql("DELETE FROM audit_streams WHERE stream = ?", gone)
    result = await verify(backend, keys)
    assert not result.ok and result.first.stream == gone
    assert "stream removed" in result.first.reason and "signed start of stream" in result.first.reason


async def resign_rewrite(backend: Backend, keys: AuditKeys, stream: str, seq: int, mutate: Any) -> None:
    """The insider holding the host's key: change an event, re-chain everything after it and re-sign
    every checkpoint (and the end), then make the stream table agree. Nothing inside is left wrong."""
    rows = await backend.sql("SELECT seq, body FROM audit_events WHERE stream = ? AND seq >= ? ORDER BY seq",
                             stream, seq)
    prev: str | None = None
    last_cp: tuple[int, str, str] | None = None
    for s, body in rows:
        ev = orjson.loads(body)
        if s == seq:
            mutate(ev)
        if prev is not None:
            ev["prev_hash"] = prev
        if ev["kind"] == "checkpoint":
            d = ev["decisions"][0]["detail"]
            d["hash"] = ev["prev_hash"]
            phase = d.get("phase")
            d["sig"] = keys.sign(phase_message(phase, d) if phase else
                                 signed_message("checkpoint", stream=stream, seq=d["seq"], hash=d["hash"]))
            last_cp = (d["seq"], d["hash"], d["sig"])
        new_body, prev = body_of(ev)
        await backend.sql("UPDATE audit_events SET body = ?, hash = ? WHERE stream = ? AND seq = ?",
                          new_body, prev, stream, s)
    assert last_cp is not None
    await backend.sql("UPDATE audit_streams SET head_hash = ?, cp_seq = ?, cp_hash = ?, cp_sig = ? WHERE stream = ?",
                      prev, *last_cp, stream)


async def test_insider_rewrite_with_the_host_key_passes_alone_and_fails_against_a_receipt(
        backend: Backend, keys: AuditKeys, tmp_path: Path) -> None:
    log = await open_log(backend, keys)
    await log.append(draft(0))
    crisis = await log.append(draft(0, kind="crisis", decisions=[
        {"rule": "crisis", "cites": ["ANTH-CRISIS-1"], "outcome": "replaced",
         "detail": {"level": "explicit_intent", "alerted": True, "handover": False}}]))
    await log.append(draft(1))
    await log.close()
    before = await verify(backend, keys)
    assert before.ok
    receipt = tmp_path / "receipt.json"
    receipt.write_bytes(dump_receipt(make_receipt(before, keys)))

    await resign_rewrite(backend, keys, crisis.stream, crisis.seq,
                         lambda ev: ev["decisions"][0]["detail"].update(alerted=False))
    alone = await verify(backend, keys)
    assert alone.ok   # the database alone cannot tell: this is what receipts and witnesses are for
    _, points = load_receipt(receipt)
    result = await verify(backend, keys, points=points)
    assert not result.ok
    assert result.first.stream == crisis.stream and result.first.seq is not None
    assert result.first.seq > crisis.seq and "receipt" in result.first.reason


async def test_receipt_catches_a_truncated_or_removed_stream(backend: Backend, keys: AuditKeys) -> None:
    a = (await write(backend, keys, 3))[0].stream
    b = (await write(backend, keys, 3))[0].stream
    before = await verify(backend, keys)
    _, points = load_receipt_from(before, keys)
    await backend.sql("DELETE FROM audit_events WHERE stream = ?", b)
    await backend.sql("DELETE FROM audit_streams WHERE stream = ?", b)
    await backend.sql("DELETE FROM audit_events WHERE stream = ? AND seq > 2", a)
    await backend.sql("UPDATE audit_streams SET head_seq = 2, head_hash = (SELECT hash FROM audit_events WHERE "
                      "stream = ? AND seq = 2), cp_seq = NULL, cp_hash = NULL, cp_sig = NULL WHERE stream = ?", a, a)
    result = await verify(backend, keys, points=points)
    named = {(p.stream, p.reason.split(":")[0]) for p in result.problems}
    assert (a, "truncated tail or removed stream") in named and (b, "truncated tail or removed stream") in named


def load_receipt_from(result: VerifyResult, keys: AuditKeys) -> tuple[dict[str, Any], list[Any]]:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "r.json"
        path.write_bytes(dump_receipt(make_receipt(result, keys)))
        return load_receipt(path)


async def test_clean_verify_states_what_it_could_not_rule_out(backend: Backend, keys: AuditKeys) -> None:
    log = await open_log(backend, keys, checkpoint_every=1000)
    await log.append(draft(0))
    await log.append(draft(1))
    result = await verify(backend, keys)   # the writer is live: its last events are not signed yet
    await log.close()
    assert result.ok
    assert any(f"stream {log.stream} seq 2..3" in c and "no signature covers" in c for c in result.caveats)
    closed = await verify(backend, keys)
    assert closed.ok and not any("no signature covers" in c for c in closed.caveats)


async def test_streams_from_before_signed_starts_pass_only_with_legacy_before(backend: Backend,
                                                                              keys: AuditKeys) -> None:
    """A log written before starts were signed: ``--legacy-before`` accepts its streams (as caveats)."""
    await (await fresh_store(backend)).close()   # the schema
    prev = GENESIS
    for seq in (1, 2):
        prev = await insert(backend, fake_event("old-writer", seq, prev))
    await backend.sql("INSERT INTO audit_streams (stream, head_seq, head_hash, head_ts_us) VALUES (?, 2, ?, 1)",
                      "old-writer", prev)
    assert not (await verify(backend, keys)).ok
    before = ts_micros("2026-11-30T12:00:01.000000Z")
    accepted = await verify(backend, keys, legacy_before_us=before)
    assert accepted.ok and any("old-writer has no signed start" in c for c in accepted.caveats)
    assert not (await verify(backend, keys, legacy_before_us=before - 2_000_000)).ok
