"""A writer no payload can break (issue 14): an event that cannot be encoded, or is over the bounds,
fails alone with ``AuditEventInvalid``; it takes no sequence number, the store stays healthy, other
events in the same batch commit, and the log verifies afterwards, fail closed and fail open."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from middleware.audit.events import AuditEventInvalid
from middleware.audit.keys import AuditKeys
from middleware.audit.verify import verify_store
from tests.test_audit_support import (  # noqa: F401
    Backend,
    FaultyStore,
    backend_fixture,
    draft,
    fresh_store,
    keys_fixture,
    open_log,
)


def deep(n: int) -> Any:
    value: Any = "x"
    for _ in range(n):
        value = {"a": value}
    return value


def poisons() -> list[dict[str, Any]]:
    return [
        {"content": {"messages": [{"role": "user", "content": [deep(300)]}]}},          # too deep to encode
        {"content": {"messages": [{"role": "user", "content": "ok", "x": {"y": ["\ud800"]}}]}},  # lone surrogate
        {"decisions": [{"rule": "r", "cites": [], "outcome": "o", "detail": {"d": deep(300)}}]},
        {"decisions": [{"rule": "r", "cites": [], "outcome": "o", "detail": {"t": "\udfff" * 3}}]},
        {"decisions": [{"rule": "r", "cites": [], "outcome": "o", "detail": {"t": "x" * 200_000}}]},  # over the bound
        {"content": {"messages": [{"role": "user", "content": "y" * 5_000_000}]}},
        {"session": "s" * 5000},
    ]


@pytest.mark.parametrize("fail_mode", ["closed", "open"])
async def test_poisoned_events_fail_alone_in_a_shared_batch(backend: Backend, keys: AuditKeys, fail_mode: str) -> None:
    log = await open_log(backend, keys)
    normal = [draft(i, content={"reply": f"fine {i}"}, fail_mode=fail_mode) for i in range(30)]
    bad = [draft(0, fail_mode=fail_mode, **p) for p in poisons()]
    mixed: list[Any] = []
    for i, d in enumerate(normal):
        mixed.append(d)
        if i < len(bad):
            mixed.append(bad[i])
    results = await asyncio.gather(*(log.append(d) for d in mixed), return_exceptions=True)   # one group commit
    by_id = {d.event_id: r for d, r in zip(mixed, results, strict=True)}
    assert all(not isinstance(by_id[d.event_id], Exception) for d in normal)
    for d in bad:
        assert isinstance(by_id[d.event_id], AuditEventInvalid), by_id[d.event_id]
    assert log.healthy
    seqs = sorted(r.seq for r in results if not isinstance(r, Exception))
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))   # no gap where a poisoned event was
    after = await log.append(draft(99))
    await log.close()
    assert after.seq == seqs[-1] + 1 or after.seq == seqs[-1] + 2   # (+ a checkpoint in between)
    store = await fresh_store(backend)
    try:
        result = await verify_store(store, {keys.key_id: keys.public})
    finally:
        await store.close()
    assert result.ok, result.problems


async def test_poisoned_event_while_the_store_is_down_leaves_no_gap_in_the_spool(backend: Backend,
                                                                                 keys: AuditKeys) -> None:
    store = FaultyStore(backend.store())
    log = await open_log(backend, keys, store=store)
    await log.append(draft(0, fail_mode="open"))
    store.down = True
    results = await asyncio.gather(
        log.append(draft(1, fail_mode="open")), log.append(draft(0, fail_mode="open", **poisons()[0])),
        log.append(draft(2, fail_mode="open")), return_exceptions=True)
    assert isinstance(results[1], AuditEventInvalid)
    assert not isinstance(results[0], Exception) and not isinstance(results[2], Exception)
    store.down = False
    for _ in range(100):
        await asyncio.sleep(0.02)
        if log.healthy:
            break
    await log.append(draft(3, fail_mode="closed"))
    await log.close()
    check = await fresh_store(backend)
    try:
        result = await verify_store(check, {keys.key_id: keys.public})
    finally:
        await check.close()
    assert result.ok, result.problems
