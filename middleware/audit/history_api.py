"""``GET /v1/users/{user}/history?format=markdown|json`` (app key): the user's own conversation with that
app, as a labelled file (ANTH-DATA-2, LABEL-EXPORT-1; see ``history.py``). An app sees only its own
users' conversations. Each copy is an audit event (kind ``history_export``) naming the user, the format
and how many replies it held, never their text."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from middleware.audit.events import AuditUnavailable, EventDraft, new_event_id
from middleware.audit.history import as_json, as_markdown, file_label, user_history
from middleware.audit.log import AuditLog
from middleware.http.admin_auth import error_response
from middleware.http.auth import AppKeys
from middleware.http.errors import CandorError, invalid_request
from middleware.pipeline.recorder import audit_unavailable
from middleware.profiles.service import user_id_or_400
from middleware.services import PolicySource

FORMATS = ("json", "markdown")


async def _append(log: AuditLog, draft: EventDraft) -> None:
    try:
        await log.append(draft)
    except AuditUnavailable as exc:   # the policy fails closed: no copy without its record
        raise audit_unavailable(str(exc) or "the audit store is unreachable") from exc


def history_routes(keys: AppKeys, audit: Callable[[], AuditLog], policies: PolicySource,
                   producer: str | None) -> list[Route]:
    async def history(request: Request) -> Response:
        try:
            app = keys.authenticate(request.headers.get("authorization"))
            user_id = user_id_or_400(request.path_params["user"])
            unknown = sorted(set(request.query_params) - {"format"})
            if unknown:
                raise invalid_request(f"unknown query parameter(s): {', '.join(unknown)}; only format is accepted",
                                      param=unknown[0])
            fmt = request.query_params.get("format", "json")
            if fmt not in FORMATS:
                raise invalid_request(f"format must be markdown or json, not {fmt!r}", param="format")
            policy = policies.get(app.policy)
            labels = policy.labels
            label = policy.text(labels.text) if labels is not None else None
            code = producer or (labels.producer_code if labels is not None else None) or ""
            log = audit()
            entries = await user_history(log, app.id, user_id, label)
            aigc = file_label(code)
            await _append(log, EventDraft(
                event_id=new_event_id(), kind="history_export", app_id=app.id, user_id=user_id,
                policy_id=policy.id, policy_version=policy.version,
                decisions=[{"rule": "history_export", "cites": ["ANTH-DATA-2", "LABEL-EXPORT-1"], "outcome": "exported",
                            "detail": {"format": fmt, "replies": len(entries), "file_id": aigc["ProduceID"]}}],
                fail_mode=policy.audit.fail))
        except CandorError as exc:
            return error_response(exc)
        if fmt == "json":
            return Response(as_json(user_id, entries, aigc, label), media_type="application/json")
        return Response(as_markdown(user_id, entries, aigc, label), media_type="text/markdown; charset=utf-8",
                        headers={"content-disposition": 'attachment; filename="history.md"'})

    return [Route("/v1/users/{user}/history", history, methods=["GET"])]
