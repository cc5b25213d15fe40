"""The overview's figures, counted per UTC hour in a rollup that each process keeps in memory and brings
up to date from the new events only.

Why a rollup: a chart over a busy week reads every event of it; at 100,000 events that is ~150 MB of
JSON, seconds of work on every page view. A stream of the audit log only ever grows at its end, in
``seq`` order (``middleware/audit/log.py``), so the rollup remembers how far it has read each stream
(``AuditStore.streams()`` gives every head) and on each view reads only what lies beyond: after the
first view (a full pass), a view costs the events written since the last one. A stream whose signed
purge anchor moved past what was read (retention deleted old events) is counted again from its new start.

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
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from middleware.audit.export import iter_rows
from middleware.audit.store import AuditStore, EventFilter, EventRow

HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
MAX_BUCKETS = 2000
_TRAFFIC = frozenset(("exchange", "crisis", "exit"))
_CHUNK = 5000
_SERIES = ("traffic", "notices", "crisis_levels", "changes", "labelling")


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
    """Counts per UTC hour, per stream read up to a known ``seq``."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._reset()

    def _reset(self) -> None:
        self.hours: dict[int, Counter[tuple[str, str]]] = defaultdict(Counter)
        self.categories: dict[int, Counter[str]] = defaultdict(Counter)
        self.alerted: dict[str, int] = {}            # crisis event id -> its hour
        self.final: dict[str, str] = {}              # crisis event id -> delivered | gave_up
        self.read_to: dict[str, int] = {}            # stream -> last seq counted
        self.first: dict[str, int] = {}              # stream -> first seq counted
        self.events_read = 0

    async def refresh(self, store: AuditStore) -> int:
        """Read every event written since the last refresh; returns how many."""
        async with self._lock:
            infos = await store.streams()
            if any(i.anchor is not None and i.anchor.first_seq > self.first.get(i.stream, i.anchor.first_seq)
                   for i in infos):
                self._reset()   # retention purged events already counted: count again from the new starts
                infos = await store.streams()
            before = self.events_read
            for info in infos:
                pos = self.read_to.get(info.stream, 0)
                if pos >= info.head_seq:
                    continue
                # the store reads the next chunk (on its own thread) while this one is counted
                pending = asyncio.ensure_future(store.scan((info.stream, pos), _CHUNK))
                try:
                    while True:
                        rows = await pending
                        mine = [r for r in rows if r.stream == info.stream and r.seq <= info.head_seq]
                        more = bool(mine) and len(mine) == len(rows) == _CHUNK and mine[-1].seq < info.head_seq
                        if more:
                            pending = asyncio.ensure_future(store.scan((info.stream, mine[-1].seq), _CHUNK))
                        for row in mine:
                            self.add(row)
                        if mine:
                            self.first.setdefault(info.stream, mine[0].seq)
                            self.read_to[info.stream] = mine[-1].seq
                        if not more:
                            break
                finally:
                    if not pending.done():
                        pending.cancel()
            return self.events_read - before

    def add(self, row: EventRow) -> None:
        self.events_read += 1
        kind = row.kind
        hour = row.ts_us // HOUR_US
        counts = self.hours[hour]
        counts["kind", kind] += 1
        if kind == "checkpoint":
            return
        ev = orjson.loads(row.body)
        decisions = ev["decisions"] or ()
        if kind in _TRAFFIC:
            counts["traffic", "exchange"] += 1
            for note in ev["notices"] or ():
                counts["notices", str(note.get("kind"))] += 1
            for d in decisions:
                rule = d.get("rule")
                if rule == "labels":
                    counts["labelling", str(d.get("outcome"))] += 1
                elif rule == "crisis" and kind == "crisis":
                    detail = d.get("detail") or {}
                    counts["crisis_levels", str(detail.get("level") or "unknown")] += 1
                    self.categories[hour][str(detail.get("category") or "unknown")] += 1
                    if detail.get("alerted") is True:
                        self.alerted[row.event_id] = hour
        elif kind == "refusal" or kind == "error":
            code = next((str(d["detail"]["code"]) for d in decisions
                         if isinstance(d.get("detail"), dict) and d["detail"].get("code")), f"http_{ev['status']}")
            counts["traffic", f"{kind}:{code}"] += 1
        elif kind == "consent_change" or kind == "persona_change":
            counts["changes", f"{kind}:{decisions[0].get('outcome') if decisions else '-'}"] += 1
        elif kind == "unlabeled_delivery":
            counts["labelling", "unlabeled_delivery_event"] += 1
        elif kind == "alert_delivery":
            for d in decisions:
                detail = d.get("detail") or {}
                eid, outcome = detail.get("event_id"), d.get("outcome")
                if eid and outcome in ("delivered", "gave_up") and self.final.get(eid) != "delivered":
                    self.final[str(eid)] = str(outcome)

    def figures(self, period: Period) -> dict[str, Any]:
        step_hours = period.step // HOUR_US
        first_hour, n = period.start // HOUR_US, period.buckets
        series: dict[str, dict[str, list[int]]] = {name: {} for name in _SERIES}
        kinds: Counter[str] = Counter()
        categories: Counter[str] = Counter()
        for hour in range(first_hour, first_hour + n * step_hours):
            counts = self.hours.get(hour)
            if not counts:
                continue
            i = (hour - first_hour) // step_hours
            for (group, name), value in counts.items():
                if group == "kind":
                    kinds[name] += value
                    continue
                row = series[group].get(name)
                if row is None:
                    row = series[group][name] = [0] * n
                row[i] += value
            categories.update(self.categories.get(hour, {}))
        # an alert raised in the period and delivered after it counts as delivered
        alerted = [eid for eid, hour in self.alerted.items() if first_hour <= hour < first_hour + n * step_hours]
        outcomes = Counter(self.final[e] for e in alerted if e in self.final)
        return {
            "period": {"since": _iso(period.start), "until": _iso(period.end), "by": period.by},
            "labels": period.labels(),
            **{name: dict(sorted(values.items())) for name, values in series.items()},
            "crisis_categories": dict(categories.most_common()),
            "alerts": {"delivered": outcomes["delivered"], "pending": len(alerted) - sum(outcomes.values()),
                       "gave_up": outcomes["gave_up"]},
            "totals": {"events": sum(kinds.values()), "by_kind": dict(sorted(kinds.items()))},
        }


async def compute_overview(store: AuditStore, period: Period, rollup: Rollup | None = None) -> dict[str, Any]:
    """The figures of ``period``; with a kept ``rollup`` only the events since its last refresh are read."""
    rollup = rollup if rollup is not None else Rollup()
    await rollup.refresh(store)
    return rollup.figures(period)


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
