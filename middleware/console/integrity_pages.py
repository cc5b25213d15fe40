"""Integrity: run ``verify`` over the whole log and show its full result; the receipt panel; and the
ANTH-ASSESS-2 compliance report as a printable page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..audit.cli import parse_time
from ..audit.keys import load_verify_keys
from ..audit.report import compute_report
from ..audit.verify import verify_store
from .deps import ConsoleDeps
from .overview_pages import IntegrityState, integrity_summary
from .session import Session
from .web import PREFIX, Guard, render


def integrity_routes(guard: Guard, deps: ConsoleDeps, state: IntegrityState) -> list[Route]:
    cfg = deps.config

    async def page(request: Request, session: Session) -> Response:
        return render(request, "integrity.html", session, result=state.last, at=state.at,
                      summary=await integrity_summary(deps, state))

    async def run_verify(request: Request, session: Session) -> Response:
        audit = deps.audit()
        keys = load_verify_keys(cfg) or {audit.keys.key_id: audit.keys.public}
        anchor = cfg.resolve_path(cfg.audit.anchor_file) if cfg.audit.anchor_file else None
        result = await verify_store(audit.store, keys, anchor)
        state.remember(result.to_dict())
        return render(request, "integrity.html", session, result=state.last, at=state.at,
                      summary=await integrity_summary(deps, state))

    async def report(request: Request, session: Session) -> Response:
        q = request.query_params
        try:
            since = parse_time(q["since"]) if q.get("since") else None
            until = parse_time(q["until"]) if q.get("until") else None
        except Exception as exc:
            return render(request, "report.html", session, status=400, error=str(exc), q=q, r=None)
        r = await compute_report(deps.audit().store, since, until)
        return render(request, "report.html", session, r=r, q=q)

    return [
        Route(f"{PREFIX}/integrity", guard.read(page), methods=["GET"]),
        Route(f"{PREFIX}/integrity/verify", guard.write("verify", run_verify, admin_only=False), methods=["POST"]),
        Route(f"{PREFIX}/report", guard.read(report), methods=["GET"]),
    ]
