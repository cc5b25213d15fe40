"""Admin and auditor HTTP API for user profiles (contract 3.4), as Starlette routes.

- ``PUT /admin/users/{user_id}`` (admin): replace the profile; omitted contract fields take their
  defaults, omitted ``minors_mode`` / ``minors_mode_override`` keep their value;
- ``PATCH /admin/users/{user_id}`` (admin): change only the fields given, plus ``block_personas`` /
  ``unblock_personas`` to edit the blocked list;
- ``GET /admin/users/{user_id}`` (admin or auditor): the profile, 404 ``user_not_found`` if none;
- ``GET /admin/users/{user_id}/usage`` (admin or auditor): the guardians' usage summary, whatever
  the ``usage_for`` callable the proxy passes in returns.

User ids containing ``/`` cannot be addressed in a path; use ``candor user`` for them.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from middleware.config.deployment import CandorConfig
from middleware.http.admin_auth import guarded, json_body, json_response
from middleware.http.errors import CandorError
from middleware.profiles.models import UserProfile
from middleware.profiles.service import ProfileService, user_id_or_400

ACTOR = "admin-api"
UsageFor = Callable[[str], dict[str, Any] | Awaitable[dict[str, Any]]]


def profile_json(user_id: str, profile: UserProfile) -> dict[str, Any]:
    data = profile.model_dump(mode="json")
    data["minors_mode_active"] = profile.minors_mode_active
    return {"object": "user_profile", "user_id": user_id, **data}


def profile_routes(get_service: Callable[[], ProfileService], cfg: CandorConfig,
                   usage_for: UsageFor | None = None) -> list[Route]:
    """The /admin/users routes; ``get_service`` is called per request. ``usage_for(user_id)`` (sync or
    async) returns the usage summary; without it the usage route answers 404."""

    async def show(request: Request) -> Response:
        user_id = request.path_params["user_id"]
        return json_response(profile_json(user_id, await get_service().require(user_id)))

    async def put(request: Request) -> Response:
        user_id = request.path_params["user_id"]
        profile = await get_service().put(user_id, await json_body(request), actor=ACTOR)
        return json_response(profile_json(user_id, profile))

    async def patch(request: Request) -> Response:
        user_id = request.path_params["user_id"]
        profile = await get_service().patch(user_id, await json_body(request), actor=ACTOR)
        return json_response(profile_json(user_id, profile))

    async def usage(request: Request) -> Response:
        user_id = user_id_or_400(request.path_params["user_id"])
        if usage_for is None:
            raise CandorError(404, "not_found", "usage summaries are not available in this deployment")
        summary = usage_for(user_id)
        if inspect.isawaitable(summary):
            summary = await summary
        return json_response(summary)

    return [
        Route("/admin/users/{user_id}", guarded(show, cfg, write=False), methods=["GET"]),
        Route("/admin/users/{user_id}", guarded(put, cfg, write=True), methods=["PUT"]),
        Route("/admin/users/{user_id}", guarded(patch, cfg, write=True), methods=["PATCH"]),
        Route("/admin/users/{user_id}/usage", guarded(usage, cfg, write=False), methods=["GET"]),
    ]
