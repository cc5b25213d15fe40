"""Events: the filtered table, one event's page (decisions, cites, chain position, the alert outcome of
a crisis, and for admins the decrypted content), and exports of the filtered set (JSONL, CSV)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from middleware.audit.events import FIELDS, KINDS
from middleware.audit.export import event_dict, with_content
from middleware.audit.store import EventFilter, EventRow
from middleware.console.deps import ConsoleDeps
from middleware.console.eventsq import PAGE, Filters, decode_cursor, iter_matching, page, parse_filters
from middleware.console.overview import alert_outcome
from middleware.console.session import Session
from middleware.console.web import PREFIX, Guard, api_error, json_out, render, secure

MAX_PAGE = 500
_ID_SLACK_US = 120_000_000   # an event is sealed after its id is made; replicas' clocks may differ a little


def _filters(deps: ConsoleDeps, request: Request) -> Filters:
    return parse_filters(request.query_params, deps.audit().keys.user_ref)


async def find_event(deps: ConsoleDeps, event_id: str, stream: str | None, seq: int | None) -> EventRow | None:
    store = deps.audit().store
    if stream is not None and seq is not None and seq > 0:
        rows = await store.scan((stream, seq - 1), 1)
        if rows and rows[0].event_id == event_id:
            return rows[0]
    try:   # ids start with their creation time in milliseconds (events.new_event_id)
        made_us = (int(event_id[:16], 16) >> 16) * 1000
    except ValueError:
        return None
    cursor = None
    flt = EventFilter(since_us=made_us - _ID_SLACK_US)
    for _ in range(20):
        rows = await store.query(flt, cursor, 1000)
        for row in rows:
            if row.event_id == event_id:
                return row
        if len(rows) < 1000:
            return None
        cursor = (rows[-1].ts_us, rows[-1].stream, rows[-1].seq)
    return None


async def crisis_alert(deps: ConsoleDeps, ev: dict[str, Any], row: EventRow) -> dict[str, Any] | None:
    crisis = next((d.get("detail") or {} for d in ev["decisions"] or () if d.get("rule") == "crisis"), None)
    if crisis is None:
        return None
    info: dict[str, Any] = {"raised": crisis.get("alerted") is True, "level": crisis.get("level"),
                            "category": crisis.get("category"), "handover": crisis.get("handover")}
    if not info["raised"]:
        return info
    info.update(await alert_outcome(deps.audit().store, row.event_id, row.ts_us))
    if deps.outbox is not None:   # the outbox's own view: the attempt count and next try of a pending alert
        entries = [e for e in await deps.outbox().list(None, 1000) if e.alert.event_id == row.event_id]
        info["outbox"] = [e.as_json() for e in entries]
        if entries and info["status"] == "pending" and entries[0].status != "pending":
            info["status"] = "gave_up" if entries[0].status == "failed" else entries[0].status
    return info


def _csv_value(v: Any) -> Any:
    return orjson.dumps(v).decode() if isinstance(v, dict | list) else v


async def _export_lines(deps: ConsoleDeps, f: Filters, fmt: str) -> AsyncIterator[bytes]:
    store = deps.audit().store
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(FIELDS), extrasaction="ignore")
        writer.writeheader()
        yield buf.getvalue().encode()
    async for rows in iter_matching(store, f):
        if not rows:
            continue
        if fmt == "jsonl":
            yield b"".join(orjson.dumps(event_dict(r)) + b"\n" for r in rows)
            continue
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(FIELDS), extrasaction="ignore")
        for r in rows:
            writer.writerow({k: _csv_value(v) for k, v in event_dict(r).items()})
        yield buf.getvalue().encode()


def event_routes(guard: Guard, deps: ConsoleDeps) -> list[Route]:
    async def table(request: Request, session: Session) -> Response:
        q = request.query_params
        try:
            f = _filters(deps, request)
            after = decode_cursor(q["cursor"]) if q.get("cursor") else None
        except ValueError as exc:
            return render(request, "events.html", session, status=400, error=str(exc), f=None, kinds=sorted(KINDS),
                          raw=dict(q))
        result = await page(deps.audit().store, f, after)
        return render(request, "events.html", session, f=f, raw=f.raw, result=result, kinds=sorted(KINDS),
                      query=urlencode(f.raw))

    async def api(request: Request, session: Session) -> Response:
        q = request.query_params
        try:
            f = _filters(deps, request)
            after = decode_cursor(q["cursor"]) if q.get("cursor") else None
            limit = int(q.get("limit", str(PAGE)))
            if not 1 <= limit <= MAX_PAGE:
                raise ValueError(f"limit must be from 1 to {MAX_PAGE}")
        except ValueError as exc:
            return api_error(400, "invalid_request", str(exc))
        result = await page(deps.audit().store, f, after, limit)
        return json_out({"object": "list", "data": result.events, "next_cursor": result.next_cursor,
                         "scanned": result.scanned})

    async def show(request: Request, session: Session) -> Response:
        event_id = request.path_params["event_id"]
        q = request.query_params
        seq = int(q["seq"]) if q.get("seq", "").isdigit() else None
        row = await find_event(deps, event_id, q.get("stream"), seq)
        if row is None:
            return render(request, "error.html", session, status=404, message=f"no event {event_id}")
        audit = deps.audit()
        if session.role == "admin":
            (ev,) = await with_content(audit.store, audit.keys.master, [row])
        else:
            ev = event_dict(row)
        return render(request, "event.html", session, ev=ev, alert=await crisis_alert(deps, ev, row),
                      admin=session.role == "admin")

    def export(fmt: str) -> Any:
        async def run(request: Request, session: Session) -> Response:
            try:
                f = _filters(deps, request)
            except ValueError as exc:
                return api_error(400, "invalid_request", str(exc))
            media = "application/x-ndjson" if fmt == "jsonl" else "text/csv; charset=utf-8"
            # the record names the user by pseudonym, as every event does: never the raw id typed in the form
            recorded = {**f.raw, "user": f.store.user_ref} if "user" in f.raw else f.raw
            await guard.record("export", session, "done", {"format": fmt, "filters": recorded})
            return secure(StreamingResponse(_export_lines(deps, f, fmt), media_type=media, headers={
                "content-disposition": f'attachment; filename="candor-events.{fmt}"'}))
        return run

    return [
        Route(f"{PREFIX}/events", guard.read(table), methods=["GET"]),
        Route(f"{PREFIX}/api/events", guard.read(api), methods=["GET"]),
        Route(f"{PREFIX}/events/{{event_id}}", guard.read(show), methods=["GET"]),
        Route(f"{PREFIX}/export.jsonl", guard.read(export("jsonl")), methods=["GET"]),
        Route(f"{PREFIX}/export.csv", guard.read(export("csv")), methods=["GET"]),
    ]
