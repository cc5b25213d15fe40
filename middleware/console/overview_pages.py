"""The overview page and its data (``/console/api/overview``), charted in the browser by Chart.js."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from middleware.audit.cli import parse_time
from middleware.audit.events import format_ts
from middleware.console.deps import ConsoleDeps
from middleware.console.overview import Period, Rollup, compute_overview, period_of
from middleware.console.session import Session
from middleware.console.web import PREFIX, Guard, api_error, json_out, render


@dataclass
class IntegrityState:
    """The last verify run from the console in this process (shown on the overview)."""

    last: dict[str, Any] | None = None
    at: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def remember(self, result: dict[str, Any]) -> None:
        self.last, self.at = result, format_ts(time.time())


def period_from(request: Request) -> Period:
    q = request.query_params
    by = q.get("by", "day")
    since = parse_time(q["since"]) if q.get("since") else None
    until = parse_time(q["until"]) if q.get("until") else None
    return period_of(since, until, by)


async def integrity_summary(deps: ConsoleDeps, state: IntegrityState) -> dict[str, Any]:
    cfg = deps.config
    streams = await deps.audit().store.streams()
    anchor = cfg.resolve_path(cfg.audit.anchor_file) if cfg.audit.anchor_file else None
    anchor_lines = None
    if anchor is not None and anchor.is_file():
        with anchor.open("rb") as fh:
            anchor_lines = sum(1 for _ in fh)
    return {
        "last_verify": state.last, "last_verify_at": state.at,
        "streams": len(streams), "signed_checkpoints": sum(1 for s in streams if s.checkpoint_seq is not None),
        "purge_anchors": sum(1 for s in streams if s.anchor is not None),
        "anchor_file": str(anchor) if anchor else None, "anchor_lines": anchor_lines,
        "receipts": None,   # the audit module offers no receipts in this version
    }


def overview_routes(guard: Guard, deps: ConsoleDeps, state: IntegrityState, rollup: Rollup) -> list[Route]:
    async def page(request: Request, session: Session) -> Response:
        try:
            period = period_from(request)
        except Exception as exc:
            return render(request, "overview.html", session, status=400, error=str(exc), q=request.query_params,
                          integrity=await integrity_summary(deps, state), complaints=deps.complaints is not None)
        return render(request, "overview.html", session, q=request.query_params, period=period,
                      integrity=await integrity_summary(deps, state), complaints=deps.complaints is not None)

    async def data(request: Request, session: Session) -> Response:
        try:
            period = period_from(request)
        except Exception as exc:
            return api_error(400, "invalid_request", str(exc))
        started = time.perf_counter()
        out = await compute_overview(deps.audit().store, period, rollup)
        out["complaints"] = None if deps.complaints is None else await deps.complaints()
        out["integrity"] = await integrity_summary(deps, state)
        out["seconds"] = round(time.perf_counter() - started, 3)
        return json_out(out)

    return [
        Route(PREFIX, guard.read(page), methods=["GET"]),
        Route(f"{PREFIX}/api/overview", guard.read(data), methods=["GET"]),
    ]
