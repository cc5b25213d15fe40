"""``AuditLog.on_committed``: each committed batch's rows, in order, after the commit; a listener that
raises changes nothing for the log; unsubscribing stops the calls; spooled rows are not told."""

from __future__ import annotations

from collections.abc import Sequence

from middleware.audit.keys import AuditKeys
from middleware.audit.store import EventRow
from tests.test_audit_support import Backend, backend_fixture, draft, keys_fixture, open_log  # noqa: F401


async def test_listeners_get_each_committed_row_in_order_and_a_broken_one_harms_nothing(
        backend: Backend, keys: AuditKeys) -> None:
    log = await open_log(backend, keys)
    told: list[EventRow] = []

    def broken(rows: Sequence[EventRow]) -> None:
        raise RuntimeError("a listener's bug")

    try:
        log.on_committed(broken)
        stop = log.on_committed(told.extend)
        events = [await log.append(draft()) for _ in range(5)]
        ids = [e.event_id for e in events]
        assert [r.event_id for r in told if r.kind != "checkpoint"][-5:] == ids
        seqs = [r.seq for r in told if r.stream == log.stream]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        stored = await backend.sql("SELECT event_id FROM audit_events")
        assert set(ids) <= {r[0] for r in stored}   # told only what is in the store
        stop()
        await log.append(draft())
        assert len([r for r in told if r.kind != "checkpoint"]) == 5
    finally:
        await log.close()
