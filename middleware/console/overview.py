"""The overview's figures: one pass over the audit log's events in a period, counted per time bucket.

What is read from each event (the request pipeline records these; see ``middleware/audit/report.py``):
exchanges (``exchange``, ``crisis``, ``exit``), refusals and errors by decision ``detail.code``, the
``kind`` of every notice, ``crisis`` events by decision ``detail.level`` / ``detail.category`` and
whether an alert was queued (``detail.alerted``), each alert's outcome from its ``alert_delivery``
events (``detail.event_id`` names the crisis event: delivered, given up, else still pending),
``consent_change`` / ``persona_change`` events by outcome, the ``labels`` decision's outcome
(``labelled``, ``delegated``, ``unlabeled``) and ``unlabeled_delivery`` events.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from ..audit.export import iter_rows
from ..audit.store import AuditStore, EventFilter

HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
MAX_BUCKETS = 2000
_TRAFFIC = frozenset(("exchange", "crisis", "exit"))
_CHUNK = 5000


@dataclass(frozen=True, slots=True)
class Period:
    since_us: int
    until_us: int
    by: str  # "hour" | "day"

    @property
    def step(self) -> int:
        return HOUR_US if self.by == "hour" else DAY_US

    @property
    def start(self) -> int:
        return self.since_us - self.since_us % self.step   # buckets start on whole UTC hours / days

    @property
    def buckets(self) -> int:
        return max(1, -(-(self.until_us - self.start) // self.step))

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


class _Series:
    """Named count series over the period's buckets."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.data: dict[str, list[int]] = {}

    def add(self, name: str, i: int) -> None:
        row = self.data.get(name)
        if row is None:
            row = self.data[name] = [0] * self.n
        row[i] += 1

    def out(self) -> dict[str, list[int]]:
        return dict(sorted(self.data.items()))


async def compute_overview(store: AuditStore, period: Period) -> dict[str, Any]:
    n, start, step = period.buckets, period.start, period.step
    traffic, notices, changes, labels, crises = _Series(n), _Series(n), _Series(n), _Series(n), _Series(n)
    categories: Counter[str] = Counter()
    alerted: set[str] = set()
    kinds: Counter[str] = Counter()
    loads = orjson.loads
    async for rows in iter_rows(store, EventFilter(since_us=period.since_us, until_us=period.until_us), _CHUNK):
        for row in rows:
            kind = row.kind
            kinds[kind] += 1
            if kind == "checkpoint" or kind == "alert_delivery":
                continue
            i = (row.ts_us - start) // step
            ev = loads(row.body)
            decisions = ev["decisions"] or ()
            if kind in _TRAFFIC:
                traffic.add("exchange", i)
                for note in ev["notices"] or ():
                    notices.add(str(note.get("kind")), i)
                for d in decisions:
                    rule = d.get("rule")
                    if rule == "labels":
                        labels.add(str(d.get("outcome")), i)
                    elif rule == "crisis" and kind == "crisis":
                        detail = d.get("detail") or {}
                        crises.add(str(detail.get("level") or "unknown"), i)
                        categories[str(detail.get("category") or "unknown")] += 1
                        if detail.get("alerted") is True:
                            alerted.add(row.event_id)
            elif kind == "refusal" or kind == "error":
                code = next((str(d["detail"]["code"]) for d in decisions
                             if isinstance(d.get("detail"), dict) and d["detail"].get("code")), f"http_{ev['status']}")
                traffic.add(f"{kind}:{code}", i)
            elif kind == "consent_change" or kind == "persona_change":
                changes.add(f"{kind}:{decisions[0].get('outcome') if decisions else '-'}", i)
            elif kind == "unlabeled_delivery":
                labels.add("unlabeled_delivery_event", i)
    return {
        "period": {"since": _iso(period.since_us), "until": _iso(period.until_us), "by": period.by},
        "labels": period.labels(),
        "traffic": traffic.out(), "notices": notices.out(), "crisis_levels": crises.out(),
        "crisis_categories": dict(categories.most_common()),
        "alerts": await _alert_outcomes(store, alerted, period.since_us),
        "changes": changes.out(), "labelling": labels.out(),
        "totals": {"events": sum(kinds.values()), "by_kind": dict(sorted(kinds.items()))},
    }


async def _alert_outcomes(store: AuditStore, alerted: set[str], since_us: int) -> dict[str, int]:
    """Each crisis alert of the period: delivered, given up, or pending (queued, no final attempt yet).
    Attempts are read up to now, so an alert raised in the period and delivered after it counts as delivered."""
    final: dict[str, str] = {}
    if alerted:
        async for rows in iter_rows(store, EventFilter(kind="alert_delivery", since_us=since_us), _CHUNK):
            for row in rows:
                for d in orjson.loads(row.body)["decisions"] or ():
                    detail = d.get("detail") or {}
                    eid, outcome = detail.get("event_id"), d.get("outcome")
                    if eid in alerted and outcome in ("delivered", "gave_up") and final.get(eid) != "delivered":
                        final[eid] = str(outcome)
    out = Counter(final.values())
    return {"delivered": out["delivered"], "pending": len(alerted) - len(final), "gave_up": out["gave_up"]}


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
