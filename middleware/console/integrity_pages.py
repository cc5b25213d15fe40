"""Integrity: run ``verify`` over the whole log and show its full result; the receipt panel; and the
ANTH-ASSESS-2 compliance report as a printable page."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from middleware.audit.bundle import write_bundle
from middleware.audit.cli import parse_time
from middleware.audit.keys import load_verify_keys
from middleware.audit.receipt import dump_receipt, make_receipt
from middleware.audit.report import compute_report
from middleware.audit.verify import verify_store
from middleware.console.deps import ConsoleDeps
from middleware.console.overview_pages import IntegrityState, integrity_summary
from middleware.console.session import Session
from middleware.console.web import PREFIX, Guard, api_error, render, secure


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

    async def receipt(request: Request, session: Session) -> Response:
        """A signed receipt of every stream's head, for the auditor to keep (``candor audit receipt``)."""
        audit = deps.audit()
        keys = load_verify_keys(cfg) or {audit.keys.key_id: audit.keys.public}
        keys.setdefault(audit.keys.key_id, audit.keys.public)
        anchor = cfg.resolve_path(cfg.audit.anchor_file) if cfg.audit.anchor_file else None
        result = await verify_store(audit.store, keys, anchor)
        state.remember(result.to_dict())
        if not result.ok:
            return api_error(409, "log_not_intact", f"no receipt for a log that does not verify: {result.first}")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        return secure(Response(dump_receipt(make_receipt(result, audit.keys)), media_type="application/json",
                               headers={"content-disposition": f'attachment; filename="candor-receipt-{stamp}.json"'}))

    async def bundle(request: Request, session: Session) -> Response:
        """The whole log as an evidence bundle (``candor audit export --bundle``): verifiable offline."""
        audit = deps.audit()
        out = io.BytesIO()
        events = await write_bundle(audit.store, audit.keys, out)
        await guard.record("export", session, "done", {"format": "bundle", "events": events})
        return secure(Response(out.getvalue(), media_type="application/octet-stream",
                               headers={"content-disposition": 'attachment; filename="candor-evidence.bundle"'}))

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
        Route(f"{PREFIX}/integrity/receipt", guard.write("receipt", receipt, admin_only=False), methods=["POST"]),
        Route(f"{PREFIX}/export.bundle", guard.read(bundle), methods=["GET"]),
        Route(f"{PREFIX}/report", guard.read(report), methods=["GET"]),
    ]
