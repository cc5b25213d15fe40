"""Admin and auditor HTTP API over the alert outbox, as Starlette routes.

- ``GET /admin/alerts?status=pending|delivered|failed|all&limit=N`` (admin or auditor): newest
  first, each alert with its delivery state. Without a webhook this is how operators see alerts;
- ``GET /admin/alerts/{alert_id}``: one alert.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from middleware.alerts.models import STATUSES, Status
from middleware.alerts.outbox import AlertOutbox
from middleware.config.deployment import CandorConfig
from middleware.http.admin_auth import guarded, json_response
from middleware.http.errors import CandorError, invalid_request

MAX_LIMIT = 1000


def alert_routes(get_outbox: Callable[[], AlertOutbox], cfg: CandorConfig) -> list[Route]:
    """The /admin/alerts routes; ``get_outbox`` is called per request."""

    async def list_alerts(request: Request) -> Response:
        raw = request.query_params.get("status", "pending")
        if raw != "all" and raw not in STATUSES:
            raise invalid_request(f"status must be one of {', '.join(STATUSES)} or all, not {raw!r}", param="status")
        status: Status | None = None if raw == "all" else raw  # type: ignore[assignment]
        limit_text = request.query_params.get("limit", "100")
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_LIMIT:
            raise invalid_request(f"limit must be a whole number from 1 to {MAX_LIMIT}", param="limit")
        outbox = get_outbox()
        entries = await outbox.list(status, int(limit_text))
        return json_response({"object": "list", "delivering": outbox.delivering,
                              "data": [e.as_json() for e in entries]})

    async def show_alert(request: Request) -> Response:
        alert_id = request.path_params["alert_id"]
        entry = await get_outbox().get(alert_id)
        if entry is None:
            raise CandorError(404, "alert_not_found", f"no alert {alert_id!r} in the outbox")
        return json_response(entry.as_json())

    return [
        Route("/admin/alerts", guarded(list_alerts, cfg, write=False), methods=["GET"]),
        Route("/admin/alerts/{alert_id}", guarded(show_alert, cfg, write=False), methods=["GET"]),
    ]
