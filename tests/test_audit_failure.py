"""Store failures: fail closed refuses, fail open spools durably and replays in order; nothing is lost."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest

from middleware.audit.events import AuditUnavailable
from middleware.audit.keys import AuditKeys
from middleware.audit.verify import verify_store
from tests.test_audit_support import Backend, FaultyStore, backend_fixture, draft, fresh_store, keys_fixture, open_log  # noqa: F401


async def stored_ids(backend: Backend) -> list[str]:
    """Event ids of non-checkpoint events, in (stream, seq) order."""
    rows = await backend.sql("SELECT event_id FROM audit_events WHERE kind <> 'checkpoint' ORDER BY stream, seq")
    return [r[0] for r in rows]


async def assert_verifies(backend: Backend, keys: AuditKeys) -> None:
    store = await fresh_store(backend)
    try:
        result = await verify_store(store, {keys.key_id: keys.public})
    finally:
        await store.close()
    assert result.ok, result.problems


async def wait_healthy(log: Any, seconds: float = 30.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if log.healthy:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the log did not recover")


async def test_fail_closed_raises_when_the_store_is_down(backend: Backend, keys: AuditKeys) -> None:
    store = FaultyStore(backend.store())
    log = await open_log(backend, keys, store=store)
    ok = await log.append(draft(0))
    store.down = True
    with pytest.raises(AuditUnavailable):
        await log.append(draft(1))
    assert not log.healthy
    with pytest.raises(AuditUnavailable):  # and fast while it stays down
        await log.append(draft(2))
    store.down = False
    await wait_healthy(log)
    later = await log.append(draft(3))
    await log.close()
    ids = await stored_ids(backend)
    assert ok.event_id in ids and later.event_id in ids and len(ids) == 2
    await assert_verifies(backend, keys)


async def test_fail_open_spools_and_replays_in_order_without_loss(backend: Backend, keys: AuditKeys) -> None:
    store = FaultyStore(backend.store())
    log = await open_log(backend, keys, store=store)
    before = [await log.append(draft(i, fail_mode="open", content={"reply": f"r{i}"})) for i in range(5)]
    store.down = True
    during = [await log.append(draft(i, fail_mode="open", content={"reply": f"d{i}"})) for i in range(20)]
    assert not log.healthy
    spool_files = list((backend.tmp / "spool").glob("*.jsonl"))
    assert any(p.stat().st_size > 0 for p in spool_files)  # durably on disk while the store is down
    assert not set(e.event_id for e in during) & set(await stored_ids(backend))
    store.down = False
    await wait_healthy(log)
    after = [await log.append(draft(i, fail_mode="open")) for i in range(5)]
    await log.close()
    ids = await stored_ids(backend)
    assert set(ids) == {e.event_id for e in before + during + after}
    # the spooled stream holds them in the order they were appended
    spooled = [e.event_id for e in during + after]
    assert [i for i in ids if i in set(spooled)] == spooled
    await assert_verifies(backend, keys)


async def test_store_failing_mid_traffic_loses_nothing(backend: Backend, keys: AuditKeys) -> None:
    store = FaultyStore(backend.store())
    log = await open_log(backend, keys, store=store)
    returned: list[str] = []
    refused = 0

    async def client(n: int) -> None:
        nonlocal refused
        for i in range(40):
            mode = "open" if (n + i) % 3 else "closed"
            try:
                returned.append((await log.append(draft(i, fail_mode=mode))).event_id)
            except AuditUnavailable:
                refused += 1
            await asyncio.sleep(0)

    async def chaos() -> None:
        while store.appends < 3:   # noqa: ASYNC110 - mid-traffic: after a few batches, whatever the speed
            await asyncio.sleep(0)
        store.down = True
        await asyncio.sleep(0.1)
        store.down = False

    await asyncio.gather(chaos(), *(client(n) for n in range(8)))
    await wait_healthy(log)
    await log.close()
    assert refused > 0  # some closed-mode appends met the outage
    ids = await stored_ids(backend)
    assert sorted(ids) == sorted(returned)  # every acknowledged event is stored, nothing else, once
    await assert_verifies(backend, keys)


async def test_reopen_with_a_non_empty_spool_replays_it(backend: Backend, keys: AuditKeys) -> None:
    store = FaultyStore(backend.store())
    log = await open_log(backend, keys, store=store)
    first = await log.append(draft(0, fail_mode="open", content={"reply": "kept"}))
    store.down = True
    spooled = [await log.append(draft(i, fail_mode="open", content={"reply": f"s{i}"})) for i in range(10)]
    # the process dies: no close, no replay; the spool stays on disk
    assert log._task is not None
    log._task.cancel()
    os.close(log._spool._fd)
    assert log._spool.path.stat().st_size > 0
    assert len(await stored_ids(backend)) == 1

    restarted = await open_log(backend, keys)  # store reachable again: replays at start-up
    assert restarted.healthy and restarted.stream != first.stream
    await restarted.append(draft(99))
    await restarted.close()
    assert len(await stored_ids(backend)) == 12
    rows = await backend.sql("SELECT event_id FROM audit_events WHERE stream = ? AND kind <> 'checkpoint' "
                             "ORDER BY seq", spooled[0].stream)
    assert [r[0] for r in rows] == [e.event_id for e in spooled]  # replayed, in order
    assert not list((backend.tmp / "spool").glob("*.jsonl"))
    rows = await backend.sql("SELECT count(*) FROM audit_content")
    assert rows[0][0] == 11  # the spooled content came along
    await assert_verifies(backend, keys)


async def test_store_down_at_start_up_then_recovers(backend: Backend, keys: AuditKeys) -> None:
    store = FaultyStore(backend.store())
    store.down = True
    log = await open_log(backend, keys, store=store)
    assert not log.healthy
    e = await log.append(draft(0, fail_mode="open"))
    with pytest.raises(AuditUnavailable):
        await log.append(draft(1))
    store.down = False
    await wait_healthy(log)
    await log.close()
    assert await stored_ids(backend) == [e.event_id]
    await assert_verifies(backend, keys)


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_postgres_losing_its_table_mid_traffic(backend: Backend, keys: AuditKeys) -> None:
    """A real database fault: the events table disappears under the writer, then comes back."""
    log = await open_log(backend, keys)
    acked = [(await log.append(draft(i, fail_mode="open"))).event_id for i in range(5)]
    await backend.sql("ALTER TABLE audit_events RENAME TO audit_events_away")
    acked += [(await log.append(draft(i, fail_mode="open"))).event_id for i in range(5)]
    with pytest.raises(AuditUnavailable):
        await log.append(draft(9, fail_mode="closed"))
    assert not log.healthy
    await backend.sql("ALTER TABLE audit_events_away RENAME TO audit_events")
    await wait_healthy(log)
    acked.append((await log.append(draft(10))).event_id)
    await log.close()
    assert sorted(await stored_ids(backend)) == sorted(acked)
    await assert_verifies(backend, keys)
