"""HTTP routes for complaints (contract 6.2):

- ``POST /v1/complaints`` (app key): ``{"user", "category", "text", "session"?}`` -> 201 ``{"id", "due_by"}``
  (plus the whole complaint);
- ``GET /admin/complaints?status=open|resolved|overdue&app=&user=&limit=`` (admin or auditor);
- ``POST /admin/complaints/{id}/resolve`` (admin): ``{"resolution"}`` -> the resolved complaint; 404
  ``complaint_not_found``, 409 ``complaint_already_resolved``.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from middleware.complaints.models import parse_new, parse_resolution
from middleware.complaints.service import ComplaintService
from middleware.config.deployment import CandorConfig
from middleware.http.admin_auth import error_response, guarded, json_body, json_response
from middleware.http.auth import AppKeys
from middleware.http.errors import CandorError, invalid_request
from middleware.policy.model import Policy

_LIST_PARAMS = {"status", "app", "user", "limit"}


def complaint_routes(service: Callable[[], ComplaintService], keys: AppKeys, policy_of_app: Callable[[str], Policy],
                     cfg: CandorConfig, clock: Callable[[], float]) -> list[Route]:
    async def file(request: Request) -> Response:
        try:
            app = keys.authenticate(request.headers.get("authorization"))
            user, category, text, session = parse_new(await json_body(request))
            complaint = await service().file(app.id, policy_of_app(app.id), user, category, text, session)
        except CandorError as exc:
            return error_response(exc)
        return json_response(complaint.as_json(clock()), status=201)

    async def listing(request: Request) -> Response:
        q = request.query_params
        unknown = sorted(set(q) - _LIST_PARAMS)
        if unknown:
            raise invalid_request(f"unknown query parameter(s): {', '.join(unknown)}", param=unknown[0])
        status = q.get("status")
        if status not in (None, "open", "resolved", "overdue"):
            raise invalid_request("status must be open, resolved or overdue", param="status")
        try:
            limit = int(q.get("limit", "100"))
        except ValueError:
            raise invalid_request("limit must be a whole number", param="limit") from None
        if not 1 <= limit <= 1000:
            raise invalid_request("limit must be between 1 and 1000", param="limit")
        found = await service().find(status, q.get("app"), q.get("user"), limit)
        now = clock()
        return json_response({"object": "list", "data": [c.as_json(now) for c in found]})

    async def resolve(request: Request) -> Response:
        resolution = parse_resolution(await json_body(request))
        done = await service().resolve(request.path_params["complaint_id"], resolution, policy_of_app)
        return json_response(done.as_json(clock()))

    return [
        Route("/v1/complaints", file, methods=["POST"]),
        Route("/admin/complaints", guarded(listing, cfg, write=False), methods=["GET"]),
        Route("/admin/complaints/{complaint_id}/resolve", guarded(resolve, cfg, write=True), methods=["POST"]),
    ]
