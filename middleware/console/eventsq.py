"""The events table: the audit store's own filters (time, user, session, kind) plus those it has no
index for (requirement ID, decision, persona, policy version), applied while paging.

A page scans at most ``SCAN_LIMIT`` stored events past its cursor; when the rarer filters match
nothing in that stretch the page says how far it got and offers to go on from there.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from middleware.audit.cli import parse_time
from middleware.audit.events import KINDS
from middleware.audit.export import event_dict
from middleware.audit.store import AuditStore, Cursor, EventFilter, EventRow

PAGE = 50
SCAN_LIMIT = 20_000
FILTER_KEYS = ("since", "until", "user", "session", "kind", "requirement", "decision", "persona",
               "policy_version")


@dataclass(frozen=True, slots=True)
class Filters:
    raw: dict[str, str]            # as typed, to fill the form and build links
    store: EventFilter
    kinds: frozenset[str]          # empty: every kind
    requirement: str | None
    decision: str | None           # "rule", "rule:outcome" or an action name
    persona: str | None
    policy_version: str | None     # a version (sha256:...) or a policy id

    @property
    def python_side(self) -> bool:
        return bool(len(self.kinds) > 1 or self.requirement or self.decision or self.persona or self.policy_version)


def parse_filters(q: Mapping[str, str], user_ref: Any) -> Filters:
    """``user_ref(raw_id)`` pseudonymises the user id the way the log does. Raises ValueError on bad input."""
    raw = {k: q[k].strip() for k in FILTER_KEYS if q.get(k, "").strip()}
    kinds = frozenset(k.strip() for k in raw.get("kind", "").split(",") if k.strip())
    unknown = kinds - KINDS
    if unknown:
        raise ValueError(f"unknown kind {', '.join(sorted(unknown))}")
    try:
        since = parse_time(raw["since"]) if "since" in raw else None
        until = parse_time(raw["until"]) if "until" in raw else None
    except Exception as exc:
        raise ValueError(f"bad time: {exc}") from None
    store = EventFilter(session_id=raw.get("session"), user_ref=user_ref(raw["user"]) if "user" in raw else None,
                        kind=next(iter(kinds)) if len(kinds) == 1 else None, since_us=since, until_us=until)
    return Filters(raw, store, kinds, raw.get("requirement", "").upper() or None, raw.get("decision"),
                   raw.get("persona"), raw.get("policy_version"))


def matches(f: Filters, row: EventRow, ev: dict[str, Any]) -> bool:
    if f.kinds and row.kind not in f.kinds:
        return False
    if f.persona and ev.get("persona_id") != f.persona:
        return False
    if f.policy_version and f.policy_version not in (ev.get("policy_version"), ev.get("policy_id")):
        return False
    decisions = [d for d in ev.get("decisions") or () if isinstance(d, dict)]
    if f.requirement and not any(f.requirement in (d.get("cites") or ()) for d in decisions):
        return False
    if f.decision:
        rule, _, outcome = f.decision.partition(":")
        hit = any(d.get("rule") == rule and (not outcome or d.get("outcome") == outcome) for d in decisions)
        hit = hit or any(d.get("outcome") == f.decision for d in decisions)   # an action name
        if not hit:
            return False
    return True


def encode_cursor(c: Cursor) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(c))).decode().rstrip("=")


def decode_cursor(text: str) -> Cursor:
    try:
        raw = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except Exception:
        raise ValueError("bad cursor") from None
    if not (isinstance(raw, list) and len(raw) == 3 and isinstance(raw[0], int) and isinstance(raw[1], str)
            and isinstance(raw[2], int)):
        raise ValueError("bad cursor")
    return raw[0], raw[1], raw[2]


@dataclass(slots=True)
class Page:
    events: list[dict[str, Any]]
    rows: list[EventRow]
    next_cursor: str | None
    scanned: int
    exhausted_scan: bool     # stopped at SCAN_LIMIT without filling the page


async def page(store: AuditStore, f: Filters, after: Cursor | None, size: int = PAGE) -> Page:
    out: list[dict[str, Any]] = []
    rows_out: list[EventRow] = []
    scanned = 0
    cursor = after
    chunk = size if not f.python_side else 1000
    while len(out) < size and scanned < SCAN_LIMIT:
        rows = await store.query(f.store, cursor, chunk)
        if not rows:
            return Page(out, rows_out, None, scanned, False)
        for row in rows:
            scanned += 1
            cursor = (row.ts_us, row.stream, row.seq)
            ev = event_dict(row)
            if matches(f, row, ev):
                out.append(ev)
                rows_out.append(row)
                if len(out) == size:
                    break
        if len(rows) < chunk and len(out) < size:
            return Page(out, rows_out, None, scanned, False)
    assert cursor is not None
    return Page(out, rows_out, encode_cursor(cursor), scanned, len(out) < size)


async def iter_matching(store: AuditStore, f: Filters) -> AsyncIterator[list[EventRow]]:
    """Every matching row, in chunks (exports)."""
    cursor: Cursor | None = None
    while True:
        rows = await store.query(f.store, cursor, 1000)
        if not rows:
            return
        cursor = (rows[-1].ts_us, rows[-1].stream, rows[-1].seq)
        yield [r for r in rows if matches(f, r, orjson.loads(r.body))]
