"""The overview's figures, counted per UTC hour in a rollup kept in the audit log's own database
(``middleware/audit/rollup.py``: both shipped stores keep it) and brought up to date from the new events only.

Why a rollup: a chart over a busy week reads every event of it; at 100,000 events that is ~150 MB of
JSON, seconds of work on every page view. A stream of the audit log only ever grows at its end, in
``seq`` order (``middleware/audit/log.py``), so the rollup keeps, beside its counts, how far it has read
each stream (a watermark; ``AuditStore.streams()`` gives every head), and each refresh reads only what
lies beyond and stores its counts and the new watermark in one transaction. Kept in the database, the
counts outlive the process: a fresh process's first view reads only the events written since any process
last counted (events appended by other processes or replicas included); only the first view of a log
written before the rollup existed reads the whole log, once (the back-fill; a serving process does it in
the background right after start-up, ``Rollup.keep_up``). When retention deletes a stream's oldest events
(its signed purge anchor moves past what was counted), their counts are taken out: every count of that
stream before the first kept event's hour, and that hour counted again (``RollupStore.rollup_cut``).
The rollup is derived data: ``audit verify`` never reads it.

What is read from each event (the request pipeline records these; see ``middleware/audit/report.py``):
exchanges (``exchange``, ``crisis``, ``exit``), refusals and errors by decision ``detail.code``, the
``kind`` of every notice, ``crisis`` events by decision ``detail.level`` / ``detail.category`` and
whether an alert was queued (``detail.alerted``), each alert's outcome from its ``alert_delivery``
events (``detail.event_id`` names the crisis event: delivered, given up, else still pending),
``consent_change`` / ``persona_change`` events by outcome, the ``labels`` decision's outcome
(``labelled``, ``delegated``, ``unlabeled``) and ``unlabeled_delivery`` events.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog

from middleware.audit.export import iter_rows
from middleware.audit.rollup import (
    DELIVERED,
    GAVE_UP,
    MemoryRollupStore,
    RollupCut,
    RollupDelta,
    RollupMark,
    RollupStore,
)
from middleware.audit.store import AuditStore, EventFilter, EventRow

log = structlog.get_logger("candor.console")

HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
MAX_BUCKETS = 2000
_TRAFFIC = frozenset(("exchange", "crisis", "exit"))
_CHUNK = 5000
_SERIES = ("traffic", "notices", "crisis_levels", "changes", "labelling")
_CATEGORY = "crisis_category"
_ATTEMPTS = 5   # refreshes racing another process's: read the marks again at most this often
_SLICE = 64    # rows counted between two turns of the event loop (~0.3 ms: requests wait at most that)
KEEP_UP_EVERY = 10.0   # seconds between the background refreshes of a serving process (with jitter)


@dataclass(frozen=True, slots=True)
class Period:
    """Whole UTC hours or days: ``since`` rounds down and ``until`` up to the bucket edges."""

    since_us: int
    until_us: int
    by: str  # "hour" | "day"

    @property
    def step(self) -> int:
        return HOUR_US if self.by == "hour" else DAY_US

    @property
    def start(self) -> int:
        return self.since_us - self.since_us % self.step

    @property
    def buckets(self) -> int:
        return max(1, -(-(self.until_us - self.start) // self.step))

    @property
    def end(self) -> int:
        return self.start + self.buckets * self.step

    def labels(self) -> list[str]:
        fmt = "%Y-%m-%d %H:00" if self.by == "hour" else "%Y-%m-%d"
        return [datetime.fromtimestamp((self.start + i * self.step) / 1e6, UTC).strftime(fmt)
                for i in range(self.buckets)]


def period_of(since_us: int | None, until_us: int | None, by: str, now_us: int | None = None) -> Period:
    """The period asked for; defaults: the last 7 days by day (by hour: the last 48 hours)."""
    if by not in ("hour", "day"):
        raise ValueError("by must be hour or day")
    now = time.time_ns() // 1000 if now_us is None else now_us
    until = until_us if until_us is not None else now + 1
    since = since_us if since_us is not None else until - (2 * DAY_US if by == "hour" else 7 * DAY_US)
    if since >= until:
        raise ValueError("the period must start before it ends")
    p = Period(since, until, by)
    if p.buckets > MAX_BUCKETS:
        raise ValueError(f"that period has {p.buckets} {by}s; choose at most {MAX_BUCKETS} (a shorter period, "
                         "or by day)")
    return p


class Rollup:
    """The overview's counts per UTC hour, kept in the audit store's database when it offers a
    ``RollupStore`` (both shipped stores do), else in this process's memory; brought up to date from the
    events written since the last refresh (per stream, from its watermark)."""

    def __init__(self, memory: MemoryRollupStore | None = None) -> None:
        self._lock = asyncio.Lock()
        self.memory = memory if memory is not None else MemoryRollupStore()
        self._target: RollupStore = self.memory

    def _bind(self, store: AuditStore) -> RollupStore:
        self._target = store if isinstance(store, RollupStore) else self.memory
        return self._target

    async def refresh(self, store: AuditStore) -> int:
        """Count every event written since the last refresh (by any process); returns how many were
        counted here. A watermark that moved meanwhile (another process counted) is read again."""
        target = self._bind(store)
        counted = 0
        async with self._lock:
            for _ in range(_ATTEMPTS):
                done, n = await self._advance(store, target)
                counted += n
                if done:
                    break
        return counted

    async def keep_up(self, store_of: Callable[[], AuditStore], every: float = KEEP_UP_EVERY) -> None:
        """Refresh now and then every ``every`` seconds (±25 %), for as long as the process serves: the
        rollup stays within seconds of the log, so no view has more than that to count (and a log from
        before the rollup is back-filled right after start-up, not on the first view)."""
        failed = False
        while True:
            try:
                await self.refresh(store_of())
                failed = False
            except asyncio.CancelledError:
                raise
            except Exception as exc:   # the log is down or not open yet: the next round tries again
                if not failed:
                    log.warning("console_rollup_refresh_failed", error=f"{type(exc).__name__}: {exc}")
                failed = True
            await asyncio.sleep(every * random.uniform(0.75, 1.25))

    async def _advance(self, store: AuditStore, target: RollupStore) -> tuple[bool, int]:
        infos = await store.streams()
        marks = await target.rollup_marks()
        counted = 0
        for info in infos:
            mark = marks.get(info.stream)
            if mark is not None and info.anchor is not None and info.anchor.first_seq > mark.first_seq:
                # retention deleted events already counted: take them out (at most an hour is counted again)
                cut = await _cut_of(store, mark, info.anchor.first_seq)
                if not await target.rollup_cut(cut):
                    return False, counted
                mark = RollupMark(info.stream, cut.first_seq, cut.read_to)
            pos = mark.read_to if mark else 0
            if pos >= info.head_seq:
                continue
            # the store reads the next chunk (on its own thread) while this one is counted and stored
            pending = asyncio.ensure_future(store.scan((info.stream, pos), _CHUNK))
            try:
                while True:
                    rows = await pending
                    mine = [r for r in rows if r.stream == info.stream and r.seq <= info.head_seq]
                    more = bool(mine) and len(mine) == len(rows) == _CHUNK and mine[-1].seq < info.head_seq
                    if more:
                        pending = asyncio.ensure_future(store.scan((info.stream, mine[-1].seq), _CHUNK))
                    if mine:
                        delta = RollupDelta(info.stream, pos, mark.first_seq if mark else mine[0].seq, mine[-1].seq)
                        for i in range(0, len(mine), _SLICE):   # let requests in between (~10 ms slices)
                            count_rows(mine[i:i + _SLICE], delta)
                            await asyncio.sleep(0)
                        if not await target.rollup_advance(delta):
                            return False, counted   # another process counted these: read the marks again
                        counted += len(mine)
                        pos = mine[-1].seq
                        mark = RollupMark(info.stream, delta.first_seq, pos)
                    if not more:
                        break
            finally:
                if not pending.done():
                    pending.cancel()
        return True, counted

    async def figures(self, period: Period) -> dict[str, Any]:
        """The overview's figures of ``period`` from the rollup (as of the last refresh)."""
        step_hours = period.step // HOUR_US
        n = period.buckets
        read = await self._target.rollup_read(period.start // HOUR_US, n * step_hours, step_hours)
        series: dict[str, dict[str, list[int]]] = {name: {} for name in _SERIES}
        kinds: Counter[str] = Counter()
        categories: Counter[str] = Counter()
        for i, group, name, value in read.counts:
            if group == "kind":
                kinds[name] += value
            elif group == _CATEGORY:
                categories[name] += value
            else:
                row = series[group].get(name)
                if row is None:
                    row = series[group][name] = [0] * n
                row[i] += value
        # an alert raised in the period and delivered after it counts as delivered
        alerts = read.alerts
        return {
            "period": {"since": _iso(period.start), "until": _iso(period.end), "by": period.by},
            "labels": period.labels(),
            **{name: dict(sorted(values.items())) for name, values in series.items()},
            "crisis_categories": dict(sorted(categories.items(), key=lambda kv: (-kv[1], kv[0]))),
            "alerts": {"delivered": alerts.get(DELIVERED, 0), "pending": alerts.get(None, 0),
                       "gave_up": alerts.get(GAVE_UP, 0)},
            "totals": {"events": sum(kinds.values()), "by_kind": dict(sorted(kinds.items()))},
        }


async def _cut_of(store: AuditStore, mark: RollupMark, first_seq: int) -> RollupCut:
    """What a purge of ``mark.stream`` below ``first_seq`` takes out: the stream's hours before the first
    kept event's, and that hour counted again from its kept events already counted (``ts`` never
    decreases within a stream, so no other hour held a deleted event)."""
    stream = mark.stream
    rows = await store.scan((stream, first_seq - 1), 1)
    hour = rows[0].ts_us // HOUR_US if rows and rows[0].stream == stream else None
    cut = RollupCut(stream, mark, first_seq, max(mark.read_to, first_seq - 1), hour)
    if hour is None:
        return cut
    delta = RollupDelta(stream, 0, first_seq, first_seq)
    pos = first_seq - 1
    while True:
        rows = await store.scan((stream, pos), _SLICE)
        mine = [r for r in rows if r.stream == stream and r.seq <= mark.read_to and r.ts_us // HOUR_US == hour]
        count_rows(mine, delta)
        if len(mine) < _SLICE:
            break
        pos = mine[-1].seq
    cut.counts = delta.counts
    return cut


def count_rows(rows: Iterable[EventRow], delta: RollupDelta) -> None:
    """Add what ``rows`` count to ``delta``: the overview's figures per hour (see the module's docstring)."""
    counts = delta.counts
    for row in rows:
        kind = row.kind
        hour = row.ts_us // HOUR_US
        counts[hour, "kind", kind] += 1
        if kind == "checkpoint":
            continue
        ev = orjson.loads(row.body)
        decisions = ev["decisions"] or ()
        if kind in _TRAFFIC:
            counts[hour, "traffic", "exchange"] += 1
            for note in ev["notices"] or ():
                counts[hour, "notices", str(note.get("kind"))] += 1
            for d in decisions:
                rule = d.get("rule")
                if rule == "labels":
                    counts[hour, "labelling", str(d.get("outcome"))] += 1
                elif rule == "crisis" and kind == "crisis":
                    detail = d.get("detail") or {}
                    counts[hour, "crisis_levels", str(detail.get("level") or "unknown")] += 1
                    counts[hour, _CATEGORY, str(detail.get("category") or "unknown")] += 1
                    if detail.get("alerted") is True:
                        delta.alerted[row.event_id] = (row.seq, hour)
        elif kind == "refusal" or kind == "error":
            code = next((str(d["detail"]["code"]) for d in decisions
                         if isinstance(d.get("detail"), dict) and d["detail"].get("code")), f"http_{ev['status']}")
            counts[hour, "traffic", f"{kind}:{code}"] += 1
        elif kind == "consent_change" or kind == "persona_change":
            counts[hour, "changes", f"{kind}:{decisions[0].get('outcome') if decisions else '-'}"] += 1
        elif kind == "unlabeled_delivery":
            counts[hour, "labelling", "unlabeled_delivery_event"] += 1
        elif kind == "alert_delivery":
            for d in decisions:
                detail = d.get("detail") or {}
                eid = detail.get("event_id")
                if eid:
                    delta.outcome(row.seq, str(eid), str(d.get("outcome")))


async def compute_overview(store: AuditStore, period: Period, rollup: Rollup | None = None) -> dict[str, Any]:
    """The figures of ``period``; with a kept ``rollup`` only the events since its last refresh are read."""
    rollup = rollup if rollup is not None else Rollup()
    await rollup.refresh(store)
    return await rollup.figures(period)


async def alert_outcome(store: AuditStore, crisis_event_id: str, since_us: int) -> dict[str, Any]:
    """One crisis event's alert: its delivery attempts (from the log) and the outcome."""
    attempts: list[dict[str, Any]] = []
    async for rows in iter_rows(store, EventFilter(kind="alert_delivery", since_us=since_us), _CHUNK):
        for row in rows:
            for d in orjson.loads(row.body)["decisions"] or ():
                detail = d.get("detail") or {}
                if detail.get("event_id") == crisis_event_id:
                    attempts.append({"event_id": row.event_id, "ts": _iso(row.ts_us), "outcome": d.get("outcome"),
                                     "attempt": detail.get("attempt"), "http_status": detail.get("http_status"),
                                     "error": detail.get("error"), "alert_id": detail.get("alert_id")})
    outcomes = {a["outcome"] for a in attempts}
    status = "delivered" if "delivered" in outcomes else "gave_up" if "gave_up" in outcomes else "pending"
    return {"status": status, "attempts": attempts}


def _iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
