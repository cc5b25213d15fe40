"""``audit report`` figures issue 14 added: streams begun and not finished, first turns without a
disclosure, alert delivery (delivered, pending, given up), unauthenticated traffic counted."""

from __future__ import annotations

from typing import Any

from middleware.audit.keys import AuditKeys
from middleware.audit.report import compute_report, render_markdown
from tests.test_audit_support import Backend, backend_fixture, draft, fresh_store, keys_fixture, open_log  # noqa: F401


def begin(exchange_id: str, session: str) -> Any:
    return draft(0, kind="stream_begin", session=session, decisions=[
        {"rule": "stream.begin", "cites": ["ANTH-LOG-1"], "outcome": "begun",
         "detail": {"exchange_event_id": exchange_id}}], notices=[])


async def test_report_counts_unfinished_streams_missed_disclosures_and_alert_delivery(
        backend: Backend, keys: AuditKeys) -> None:
    log = await open_log(backend, keys)
    done = draft(0, session="s-done")                       # disclosed first turn (the draft has the notice)
    await log.append(begin(done.event_id, "s-done"))
    await log.append(done)
    cut = await log.append(begin("never-finished-exchange", "s-cut"))
    missed = await log.append(draft(0, session="s-missed", notices=[]))
    await log.append(draft(1, session="s-missed", notices=[]))   # a later turn: no disclosure due
    for alert_id, outcome in (("a1", "delivered"), ("a2", "gave_up")):
        await log.append(draft(0, kind="alert_delivery", session=None, decisions=[
            {"rule": "alert", "cites": [], "outcome": outcome, "detail": {"alert_id": alert_id}}]))
    for _ in range(3):
        await log.append(draft(0, kind="crisis", session="s-done", decisions=[
            {"rule": "crisis", "cites": [], "outcome": "replaced", "detail": {"level": "distress", "alerted": True}}]))
    await log.append(draft(0, kind="unauthenticated", user=None, session=None, notices=[], decisions=[
        {"rule": "auth", "cites": [], "outcome": "counted", "detail": {"by_source": {"10.0.0.9": 1000, "::1": 2}}}]))
    await log.close()
    store = await fresh_store(backend)
    try:
        r = await compute_report(store, None, None)
    finally:
        await store.close()
    assert r["streams"] == {"begun": 2, "begun_not_finished": 1, "unfinished_event_ids": [cut.event_id]}
    assert r["disclosures"]["first_turn_without_disclosure"] == 1
    assert r["disclosures"]["missed_event_ids"] == [missed.event_id]
    assert (r["crisis"]["alerts"], r["crisis"]["alerts_delivered"], r["crisis"]["alerts_given_up"],
            r["crisis"]["alerts_pending"]) == (3, 1, 1, 1)
    assert r["unauthenticated"] == {"requests": 1002, "by_source": {"10.0.0.9": 1000, "::1": 2}}
    text = render_markdown(r)
    assert "begun but not finished (cut by a crash or a lost final record): 1" in text
    assert "first turn without an AI disclosure: 1" in text and "pending: 1" in text
