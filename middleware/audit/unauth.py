"""Unauthenticated traffic is counted, not logged one by one.

A request without a valid app key is nobody's exchange: writing an audit event for each let one
client without a key write 1,000 events a second, kept for 190 days. Instead each is counted per
source (the client address) in a Prometheus counter, and once per interval one ``unauthenticated``
audit event records the counts (``detail.by_source``, the top sources; ``detail.other_sources`` the
rest), so the evidence that it happened stays, at a fixed cost.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

import structlog
from prometheus_client import Counter as PromCounter

from middleware.audit.events import EventDraft, format_ts, new_event_id

if TYPE_CHECKING:
    from middleware.audit.log import AuditLog

log = structlog.get_logger("candor.audit")

UNAUTHENTICATED = PromCounter("candor_unauthenticated_total",
                              "Requests refused for a missing or unknown key, by source address "
                              "(the first 100 sources by name, the rest as 'other')", ["source"])
_MAX_LABELS = 100   # Prometheus label values a hostile client could otherwise multiply without bound
_TOP_SOURCES = 50   # sources named in one audit event


class UnauthenticatedTally:
    def __init__(self, audit: Callable[[], AuditLog], interval: float = 60.0,
                 clock: Callable[[], float] = time.time) -> None:
        self._audit = audit
        self.interval = interval
        self._clock = clock
        self._counts: Counter[str] = Counter()
        self._since = clock()
        self._labels: set[str] = set()

    def count(self, source: str) -> None:
        """One refused request from ``source``: a dict increment and a counter, no I/O."""
        self._counts[source] += 1
        if source in self._labels or len(self._labels) < _MAX_LABELS:
            self._labels.add(source)
            UNAUTHENTICATED.labels(source).inc()
        else:
            UNAUTHENTICATED.labels("other").inc()

    @property
    def pending(self) -> int:
        return sum(self._counts.values())

    async def flush(self) -> None:
        """Record what was counted since the last flush as one event (nothing if nothing came)."""
        if not self._counts:
            self._since = self._clock()
            return
        counts, self._counts = self._counts, Counter()
        since, until = self._since, self._clock()
        self._since = until
        top = counts.most_common(_TOP_SOURCES)
        detail = {"since": format_ts(since), "until": format_ts(until), "total": sum(counts.values()),
                  "by_source": dict(top), "other_sources": len(counts) - len(top),
                  "other_requests": sum(counts.values()) - sum(n for _, n in top)}
        try:
            await self._audit().append(EventDraft(
                event_id=new_event_id(), kind="unauthenticated", status=401, fail_mode="open",
                decisions=[{"rule": "auth.unauthenticated", "cites": [], "outcome": "counted", "detail": detail}]))
        except Exception as exc:   # the counts are also in /metrics; a lost interval is logged, not raised
            log.warning("unauthenticated_tally_not_recorded", error=repr(exc), total=detail["total"])

    async def run(self) -> None:
        """Flush every ``interval`` until cancelled (then flush once more)."""
        try:
            while True:
                await asyncio.sleep(self.interval)
                await self.flush()
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.flush())
