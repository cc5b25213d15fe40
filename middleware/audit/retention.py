"""Erasure (ANTH-DATA-2) and retention (ANTH-LOG-1): the two ways data leaves the audit store.

Erasure destroys a user's data keys and content rows and leaves a tombstone, so no spool replay
can bring older content back; the events stay and still verify. Purge deletes whole events older
than the retention period, per stream a prefix, and signs where each stream now starts (first kept
seq and its ``prev_hash``); the anchors go into the stream table in the same transaction as the
deletion, into the anchor file, and into a ``purge`` event, so what remains verifies.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import structlog

from middleware.audit.chain import signed_message
from middleware.audit.events import AuditEvent, AuditUnavailable, EventDraft, format_ts, new_event_id
from middleware.audit.store import StreamAnchor

if TYPE_CHECKING:
    from middleware.audit.log import AuditLog

log = structlog.get_logger("candor.audit")

DEFAULT_RETENTION = 190 * 86400.0  # ANTH-LOG-1: at least six months, with margin


async def erase_user(audit: AuditLog, user_id: str, *, actor: str | None = None,
                     app_id: str | None = None) -> tuple[AuditEvent, int, int]:
    ref = audit.keys.user_ref(user_id)
    assert ref is not None
    try:
        async with asyncio.timeout(audit.settings.timeout):   # not wait_for: it can swallow a cancel (3.11)
            keys, contents = await audit.store.erase_user(ref, time.time_ns() // 1000)
    except Exception as exc:
        raise AuditUnavailable(f"cannot erase: the audit store is unavailable ({exc})") from exc
    audit.forget_spool_key(ref)
    event = await audit.append(EventDraft(
        event_id=new_event_id(), kind="erasure", app_id=app_id, user_id=user_id, fail_mode="closed",
        decisions=[{"rule": "data.erasure", "cites": ["ANTH-DATA-2"], "outcome": "erased",
                    "detail": {"keys_destroyed": keys, "contents_deleted": contents, "actor": actor}}]))
    return event, keys, contents


async def purge(audit: AuditLog, older_than: float) -> AuditEvent:
    if older_than <= 0:
        raise ValueError("older_than must be a positive number of seconds")
    before_us = time.time_ns() // 1000 - int(older_than * 1_000_000)
    try:
        async with asyncio.timeout(audit.settings.timeout * 6):   # not wait_for: it can swallow a cancel (3.11)
            plan = await audit.store.purge_plan(before_us)
        anchors = [
            StreamAnchor(stream=s, first_seq=first, prev_hash=prev, key_id=audit.keys.key_id,
                         signature=audit.keys.sign(signed_message("purge_anchor", stream=s, first_seq=first,
                                                                  prev_hash=prev)))
            for s, first, prev in plan
        ]
        deleted = 0
        if anchors:
            async with asyncio.timeout(audit.settings.timeout * 60):
                deleted = await audit.store.purge(anchors)
    except Exception as exc:
        raise AuditUnavailable(f"cannot purge: the audit store is unavailable ({exc})") from exc
    if audit.anchor is not None and anchors:
        lines = [audit.anchor.line("purge_anchor", a.stream, a.first_seq, a.prev_hash) for a in anchors]
        await asyncio.to_thread(audit.anchor.write, lines)
    detail = {
        "before": format_ts(before_us / 1_000_000), "deleted": deleted,
        "anchors": [{"stream": a.stream, "first_seq": a.first_seq, "prev_hash": a.prev_hash,
                     "key_id": a.key_id, "sig": a.signature} for a in anchors],
    }
    event = await audit.append(EventDraft(
        event_id=new_event_id(), kind="purge", fail_mode="closed",
        decisions=[{"rule": "audit.retention", "cites": ["ANTH-LOG-1"], "outcome": "purged", "detail": detail}]))
    log.info("audit retention purge", deleted=deleted, before=detail["before"], streams=len(anchors))
    return event


async def run_retention(audit: AuditLog, retention_seconds: float, every: float = 3600.0) -> None:
    """Purge now and then every ``every`` seconds until cancelled; a failed run is retried next time."""
    while True:
        try:
            await purge(audit, retention_seconds)
        except AuditUnavailable as exc:
            log.warning("audit retention purge skipped", error=str(exc))
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            # a cancel swallowed inside the purge (asyncio.wait_for on Python 3.11 loses one that lands as its
            # call finishes; the store calls here use asyncio.timeout, the log's own calls may not): stop now
            # instead of sleeping ``every`` seconds, which held shutdown for up to an hour
            raise asyncio.CancelledError
        await asyncio.sleep(every)
