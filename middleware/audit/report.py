"""The compliance report (ANTH-ASSESS-2 evidence, ANTH-ASSESS-1 thresholds) computed from the log.

What it reads from events (the request pipeline records these):
* users: ``user_ref``; sessions: ``session_id`` with the times of exchange/crisis/exit events;
* age structure: the first decision whose ``detail`` has ``age_band``;
* crisis: ``crisis`` events, their decision ``detail.level``, ``detail.alerted`` (an alert durably queued)
  and ``detail.handover``; ``alert_delivery`` events (one per attempt) give the alerts delivered and given
  up, counted once per alert id;
* refusals and errors: decision ``detail.code`` (else ``http_<status>``);
* notices: each notice's ``kind``; labels and actions: every decision as ``rule:outcome``, and
  ``unlabeled_delivery`` events;
* streamed replies: ``stream_begin`` events whose exchange event (``detail.exchange_event_id``) is
  nowhere in the log are *begun, not finished* (the proxy died mid-stream, or the final record was
  lost): listed by event id;
* missed disclosures: a session's first ``exchange`` (in the period, for sessions that began in it)
  that carries no ``ai_disclosure`` notice;
* alert delivery: delivered and given up from ``alert_delivery`` events, pending = alerts raised minus
  those two;
* unauthenticated traffic: the ``unauthenticated`` events' per-interval counts, summed per source.

* complaints: ``complaint`` events (``received`` with ``due_by``, ``resolved``), counted open and overdue.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter, defaultdict
from typing import Any

import orjson

from middleware.audit.events import format_ts, ts_micros
from middleware.audit.export import iter_rows
from middleware.audit.store import AuditStore, EventFilter

REGISTERED_THRESHOLD = 1_000_000
MONTHLY_ACTIVE_THRESHOLD = 100_000
_DAY_US = 86_400_000_000
_USAGE_KINDS = {"exchange", "crisis", "exit"}


def _uid(ref: str) -> int:
    return int(ref[:16], 16)  # 64 bits keep a million users apart and take a fraction of the memory


def _threshold(value: int, limit: int, what: str, warnings: list[str]) -> dict[str, Any]:
    ratio = value / limit
    status = "exceeded" if ratio >= 1 else "warning" if ratio >= 0.8 else "ok"
    if status != "ok":
        verb = "has reached" if status == "exceeded" else "is at 80 % or more of"
        warnings.append(f"{what}: {value:,} {verb} the {limit:,} threshold: a security assessment is "
                        "due (ANTH-ASSESS-1)" if status == "exceeded" else
                        f"{what}: {value:,} {verb} the {limit:,} threshold: prepare the security "
                        "assessment (ANTH-ASSESS-1)")
    return {"value": value, "threshold": limit, "ratio": round(ratio, 4), "status": status}


def _dist(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"count": 0, "mean": None, "median": None, "p90": None, "max": None}
    values.sort()
    return {"count": len(values), "mean": round(statistics.fmean(values), 2),
            "median": round(statistics.median(values), 2),
            "p90": round(values[min(len(values) - 1, int(len(values) * 0.9))], 2), "max": round(values[-1], 2)}


async def compute_report(store: AuditStore, since_us: int | None, until_us: int | None) -> dict[str, Any]:
    now_us = time.time_ns() // 1000
    until = until_us if until_us is not None else now_us
    kinds: Counter[str] = Counter()
    period_users: set[int] = set()
    monthly: dict[str, set[int]] = defaultdict(set)
    last30: set[int] = set()
    sessions: dict[str, list[int]] = {}
    user_days: dict[tuple[int, str], list[int]] = {}
    age_users: dict[int, str] = {}
    age_events: Counter[str] = Counter()
    crisis_levels: Counter[str] = Counter()
    alerts = handovers = attempts = 0
    alert_outcomes: dict[str, set[str]] = {"delivered": set(), "gave_up": set()}
    refusals: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    notices: Counter[str] = Counter()
    decisions: Counter[str] = Counter()
    begun: dict[str, tuple[str, str | None, int]] = {}   # exchange event id -> (begin id, session, ts_us)
    seen_ids: set[str] = set()
    first_exchange: dict[str, tuple[int, str, bool]] = {}   # session -> (ts_us, event id, disclosed)
    session_seen: set[str] = set()
    unauth: Counter[str] = Counter()
    complaints = ComplaintTally()
    async for rows in iter_rows(store, EventFilter(since_us=since_us, until_us=until)):
        for row in rows:
            ev = orjson.loads(row.body)
            kind = row.kind
            kinds[kind] += 1
            seen_ids.add(row.event_id)
            _streams_and_disclosures(row.kind, row.event_id, row.session_id, row.ts_us, ev, begun,
                                     first_exchange, session_seen, unauth)
            uid = _uid(row.user_ref) if row.user_ref else None
            ts = ev["ts"]
            band = code = None
            for d in ev.get("decisions") or []:
                if not isinstance(d, dict):
                    continue
                decisions[f"{d.get('rule')}:{d.get('outcome')}"] += 1
                raw = d.get("detail")
                detail: dict[str, Any] = raw if isinstance(raw, dict) else {}
                if band is None and detail.get("age_band"):
                    band = str(detail["age_band"])
                if kind == "crisis":
                    if detail.get("level"):
                        crisis_levels[str(detail["level"])] += 1
                    alerts += detail.get("alerted") is True
                    handovers += detail.get("handover") is True
                if code is None and detail.get("code"):
                    code = str(detail["code"])
            if kind in ("refusal", "error"):
                (refusals if kind == "refusal" else errors)[code or f"http_{ev.get('status')}"] += 1
            for n in ev.get("notices") or []:
                if isinstance(n, dict) and n.get("kind"):
                    notices[str(n["kind"])] += 1
            if row.kind == "complaint":
                complaints.add(ev)
            if row.kind == "alert_delivery":   # one event per attempt: count alerts, not attempts
                attempts += 1
                for d in ev.get("decisions") or []:
                    info = d.get("detail") if isinstance(d, dict) else None
                    if isinstance(info, dict) and info.get("alert_id"):
                        outcome = str(d.get("outcome"))
                        if outcome in ("delivered", "gave_up"):
                            alert_outcomes[outcome].add(str(info["alert_id"]))
            if uid is not None and row.kind in _USAGE_KINDS:
                period_users.add(uid)
                monthly[ts[:7]].add(uid)
                if row.ts_us >= until - 30 * _DAY_US:
                    last30.add(uid)
                user_days.setdefault((uid, ts[:10]), []).append(row.ts_us)
                if band is not None:
                    age_users[uid] = band
            if band is not None:
                age_events[band] += 1
            if row.session_id and row.kind in _USAGE_KINDS:
                span = sessions.setdefault(row.session_id, [row.ts_us, row.ts_us])
                span[0], span[1] = min(span[0], row.ts_us), max(span[1], row.ts_us)
    unfinished = await _unfinished(store, begun, seen_ids)
    missed = sorted(event_id for _, event_id, disclosed in first_exchange.values() if not disclosed)
    all_users: set[int] = set()
    async for rows in iter_rows(store, EventFilter(until_us=until)):
        all_users.update(_uid(r.user_ref) for r in rows if r.user_ref and r.kind in _USAGE_KINDS)
    warnings: list[str] = []
    peak_month: tuple[str | None, set[int]] = max(monthly.items(), key=lambda kv: len(kv[1]), default=(None, set()))
    age_structure = Counter(age_users.values())
    age_structure["unknown"] = len(period_users) - len(age_users)
    return {
        "period": {"since": format_ts(since_us / 1e6) if since_us else None, "until": format_ts(until / 1e6)},
        "generated_at": format_ts(now_us / 1e6),
        "events": {"total": sum(kinds.values()), "by_kind": dict(sorted(kinds.items()))},
        "users": {
            "seen_all_time": _threshold(len(all_users), REGISTERED_THRESHOLD, "users seen (all time)", warnings),
            "active_in_period": len(period_users),
            "monthly_active": {m: len(u) for m, u in sorted(monthly.items())},
            "monthly_active_last_30_days": _threshold(len(last30), MONTHLY_ACTIVE_THRESHOLD,
                                                      "monthly active users (last 30 days)", warnings),
            "peak_month": {"month": peak_month[0], "users": len(peak_month[1])},
        },
        "usage": {
            "sessions": len(sessions),
            "session_minutes": _dist([(b - a) / 60e6 for a, b in sessions.values()]),
            "user_daily_active_minutes": _dist([(max(v) - min(v)) / 60e6 for v in user_days.values()]),
        },
        "age_structure": {"users": dict(sorted(age_structure.items())), "events": dict(sorted(age_events.items()))},
        "crisis": {"detections": kinds.get("crisis", 0), "by_level": dict(crisis_levels), "alerts": alerts,
                   "handovers": handovers, "alerts_delivered": len(alert_outcomes["delivered"]),
                   "alerts_given_up": len(alert_outcomes["gave_up"]), "alert_delivery_attempts": attempts,
                   "alerts_pending": max(0, alerts - len(alert_outcomes["delivered"])
                                         - len(alert_outcomes["gave_up"]))},
        "streams": {"begun": kinds.get("stream_begin", 0), "begun_not_finished": len(unfinished),
                    "unfinished_event_ids": unfinished[:100]},
        "disclosures": {"sessions_begun": len(first_exchange), "first_turn_without_disclosure": len(missed),
                        "missed_event_ids": missed[:100]},
        "unauthenticated": {"requests": sum(unauth.values()), "by_source": dict(unauth.most_common(20))},
        "refusals": {"total": kinds.get("refusal", 0), "by_code": dict(refusals.most_common())},
        "errors": {"total": kinds.get("error", 0), "by_code": dict(errors.most_common())},
        "notices": {"total": sum(notices.values()), "by_kind": dict(notices.most_common())},
        "labels": {k: v for k, v in decisions.items() if k.startswith("label")}
        | {"unlabeled_delivery_events": kinds.get("unlabeled_delivery", 0)},
        "decisions": dict(decisions.most_common()),
        "complaints": complaints.summary(until),
        "erasures": kinds.get("erasure", 0), "policy_reloads": kinds.get("policy_reload", 0),
        "purges": kinds.get("purge", 0),
        "warnings": warnings,
    }


def _streams_and_disclosures(kind: str, event_id: str, session: str | None, ts_us: int, ev: dict[str, Any],
                             begun: dict[str, tuple[str, str | None, int]],
                             first_exchange: dict[str, tuple[int, str, bool]], session_seen: set[str],
                             unauth: Counter[str]) -> None:
    if kind == "stream_begin":
        detail = _first_detail(ev)
        if detail.get("exchange_event_id"):
            begun[str(detail["exchange_event_id"])] = (event_id, session, ts_us)
        return
    if kind == "unauthenticated":
        for source, n in (_first_detail(ev).get("by_source") or {}).items():
            if isinstance(n, int):
                unauth[str(source)] += n
        return
    if session is None or kind not in _USAGE_KINDS:
        return
    if session not in session_seen:
        session_seen.add(session)
        if kind == "exchange":   # the session's first turn: the disclosure is due here
            disclosed = any(isinstance(n, dict) and n.get("kind") == "ai_disclosure" for n in ev.get("notices") or [])
            first_exchange[session] = (ts_us, event_id, disclosed)


def _first_detail(ev: dict[str, Any]) -> dict[str, Any]:
    decisions = ev.get("decisions") or [{}]
    detail = decisions[0].get("detail") if isinstance(decisions[0], dict) else None
    return detail if isinstance(detail, dict) else {}


async def _unfinished(store: AuditStore, begun: dict[str, tuple[str, str | None, int]], seen: set[str]) -> list[str]:
    """Begin records whose exchange event is nowhere: looked up past the period too (a stream begun at
    its end may finish after it), through the session index."""
    out = []
    for exchange_id, (begin_id, session, ts_us) in begun.items():
        if exchange_id in seen:
            continue
        found = False
        if session is not None:
            after = None
            while not found:
                rows = await store.query(EventFilter(session_id=session, since_us=ts_us), after, 1000)
                found = any(r.event_id == exchange_id for r in rows)
                if len(rows) < 1000:
                    break
                after = (rows[-1].ts_us, rows[-1].stream, rows[-1].seq)
        if not found:
            out.append(begin_id)
    return sorted(out)
class ComplaintTally:
    """Complaints from their ``complaint`` events: received (with the due date) and resolved, by id. Open
    means received and not resolved by the end of the period; overdue means open past its due date then."""

    def __init__(self) -> None:
        self.due: dict[str, int] = {}
        self.categories: Counter[str] = Counter()
        self.resolved: set[str] = set()
        self.late = 0

    def add(self, ev: dict[str, Any]) -> None:
        for d in ev.get("decisions") or []:
            detail = d.get("detail") if isinstance(d, dict) else None
            if not isinstance(detail, dict) or d.get("rule") != "complaint" or not detail.get("complaint_id"):
                continue
            cid = str(detail["complaint_id"])
            if d.get("outcome") == "received":
                self.due[cid] = ts_micros(str(detail["due_by"])) if detail.get("due_by") else 0
                self.categories[str(detail.get("category"))] += 1
            elif d.get("outcome") == "resolved":
                self.resolved.add(cid)
                self.late += detail.get("late") is True

    def summary(self, until_us: int) -> dict[str, Any]:
        still_open = [due for cid, due in self.due.items() if cid not in self.resolved]
        return {"received": len(self.due), "resolved": len(self.resolved), "resolved_late": self.late,
                "open": len(still_open), "overdue": sum(1 for due in still_open if due < until_us),
                "by_category": dict(self.categories.most_common())}


def _table(title: str, data: dict[str, Any], head: tuple[str, str] = ("", "count")) -> list[str]:
    if not data:
        return [f"**{title}**: none", ""]
    lines = [f"**{title}**", "", f"| {head[0] or 'item'} | {head[1]} |", "|---|---:|"]
    lines += [f"| {k} | {v} |" for k, v in data.items()]
    return [*lines, ""]


def render_markdown(r: dict[str, Any]) -> str:
    u = r["users"]
    seen, mau = u["seen_all_time"], u["monthly_active_last_30_days"]
    s, d = r["usage"]["session_minutes"], r["usage"]["user_daily_active_minutes"]
    out = [
        "# Candor compliance report (ANTH-ASSESS-2)", "",
        f"Period: {r['period']['since'] or 'beginning of the log'} to {r['period']['until']}; "
        f"generated {r['generated_at']}; {r['events']['total']:,} events.", "",
    ]
    if r["warnings"]:
        out += ["## Warnings", "", *[f"- {w}" for w in r["warnings"]], ""]
    out += [
        "## User scale (ANTH-ASSESS-1 thresholds)", "",
        "| figure | value | threshold | share | status |", "|---|---:|---:|---:|---|",
        f"| users seen (all time) | {seen['value']:,} | {seen['threshold']:,} | {seen['ratio']:.1%} "
        f"| {seen['status']} |",
        f"| monthly active users (last 30 days) | {mau['value']:,} | {mau['threshold']:,} | {mau['ratio']:.1%} "
        f"| {mau['status']} |", "",
        f"Active users in the period: {u['active_in_period']:,}; peak month: {u['peak_month']['month']} "
        f"({u['peak_month']['users']:,}).", "",
        *_table("Monthly active users", u["monthly_active"], ("month", "users")),
        "## Usage duration", "",
        f"Sessions: {r['usage']['sessions']:,}. Session length (minutes): median {s['median']}, p90 {s['p90']}, "
        f"max {s['max']}. Active minutes per user per day: mean {d['mean']}, p90 {d['p90']}.", "",
        "## Age structure", "", *_table("Users by age band", r["age_structure"]["users"], ("age band", "users")),
        "## Crisis handling", "",
        f"Detections: {r['crisis']['detections']}; alerts: {r['crisis']['alerts']}; "
        f"hand-overs: {r['crisis']['handovers']}.", "",
        *_table("By level", r["crisis"]["by_level"], ("level", "count")),
        "## Refusals and errors", "", *_table("Refusals by code", r["refusals"]["by_code"], ("code", "count")),
        *_table("Errors by code", r["errors"]["by_code"], ("code", "count")),
        "## Notices and labels", "", *_table("Notices delivered", r["notices"]["by_kind"], ("kind", "count")),
        *_table("Labels", r["labels"], ("rule:outcome", "count")),
        "## Alert delivery", "",
        f"Alerts raised: {r['crisis']['alerts']}; delivered: {r['crisis']['alerts_delivered']}; pending: "
        f"{r['crisis']['alerts_pending']}; given up: {r['crisis']['alerts_given_up']}.", "",
        "## Streamed replies and disclosures", "",
        f"Streams begun: {r['streams']['begun']}; begun but not finished (cut by a crash or a lost final "
        f"record): {r['streams']['begun_not_finished']}"
        + (f" ({', '.join(r['streams']['unfinished_event_ids'][:10])})" if r['streams']['unfinished_event_ids']
           else "") + ".",
        f"Sessions begun: {r['disclosures']['sessions_begun']}; first turn without an AI disclosure: "
        f"{r['disclosures']['first_turn_without_disclosure']}"
        + (f" ({', '.join(r['disclosures']['missed_event_ids'][:10])})" if r['disclosures']['missed_event_ids']
           else "") + ".", "",
        f"Unauthenticated requests (counted, not logged one by one): {r['unauthenticated']['requests']:,}.", "",
        "## Complaints (ANTH-COMPLAINT-1)", "",
        f"Received: {r['complaints']['received']}; resolved: {r['complaints']['resolved']} "
        f"({r['complaints']['resolved_late']} after their due date); open: {r['complaints']['open']}; "
        f"overdue: {r['complaints']['overdue']}.", "",
        *_table("Received by category", r["complaints"]["by_category"], ("category", "count")),
        "## Record keeping", "",
        f"Erasures: {r['erasures']}; policy reloads: {r['policy_reloads']}; retention purges: {r['purges']}.", "",
    ]
    return "\n".join(out)
