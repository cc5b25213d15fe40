"""Admin and auditor HTTP API for personas and consents (contract 3.4), as Starlette routes.

``Authorization: Bearer <admin key>`` may read and write; the auditor key may only read (keys and
errors: ``middleware.http.admin_auth``).

Auditor export of a subject's whole consent history (revoked and replaced consents included):
``GET /admin/consents?subject_id=<id>&history=1``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from middleware.config.deployment import CandorConfig
from middleware.http.admin_auth import guarded, json_body, json_response
from middleware.http.errors import invalid_request
from middleware.likeness.models import Consent, Persona, from_ts
from middleware.likeness.service import LikenessService

Handler = Callable[[Request, LikenessService], Awaitable[Response]]
ACTOR = "admin-api"
_STATUSES = ("active", "pending", "expired", "revoked")


def persona_json(persona: Persona) -> dict[str, Any]:
    return persona.model_dump(mode="json")


def consent_json(consent: Consent, now: float) -> dict[str, Any]:
    data = consent.model_dump(mode="json")
    data["status"] = consent.status(from_ts(now))
    return data


def _flag(request: Request, name: str) -> bool:
    value = request.query_params.get(name, "0").lower()
    if value not in ("0", "1", "true", "false", ""):
        raise invalid_request(f"query parameter {name} must be 1 or 0, not {value!r}", param=name)
    return value in ("1", "true")


# -- handlers ---------------------------------------------------------------------------------------

async def create_persona(request: Request, svc: LikenessService) -> Response:
    persona = await svc.add_persona(await json_body(request, required=False), actor=ACTOR)
    return json_response(persona_json(persona), 201)


async def list_personas(request: Request, svc: LikenessService) -> Response:
    return json_response({"object": "list", "data": [persona_json(p) for p in await svc.list_personas()]})


async def show_persona(request: Request, svc: LikenessService) -> Response:
    persona = await svc.get_persona(request.path_params["persona_id"])
    return json_response({**persona_json(persona), "consent": await svc.consent_coverage(persona)})


async def patch_persona(request: Request, svc: LikenessService) -> Response:
    body = await json_body(request, required=False)
    persona = await svc.patch_persona(request.path_params["persona_id"], body, actor=ACTOR)
    return json_response(persona_json(persona))


async def create_consent(request: Request, svc: LikenessService) -> Response:
    consent = await svc.add_consent(await json_body(request, required=False), actor=ACTOR)
    return json_response(consent_json(consent, time.time()), 201)


async def list_consents(request: Request, svc: LikenessService) -> Response:
    subject_id = request.query_params.get("subject_id") or None
    status = request.query_params.get("status") or None
    if status is not None and status not in _STATUSES:
        raise invalid_request(f"status must be one of {', '.join(_STATUSES)}", param="status")
    now = time.time()
    consents = [consent_json(c, now) for c in await svc.list_consents(subject_id)]
    if status is not None:
        consents = [c for c in consents if c["status"] == status]
    if not _flag(request, "history"):
        return json_response({"object": "list", "data": consents})
    if subject_id is None:
        raise invalid_request("history=1 exports one subject's consent history: add subject_id=<id>",
                              param="subject_id")
    subject = await svc.get_subject(subject_id)
    personas = [p.id for p in await svc.list_personas() if p.likeness and p.likeness.subject_id == subject_id]
    return json_response({"object": "consent_history", "exported_at": from_ts(now).isoformat(),
                  "subject": subject.model_dump(mode="json"), "personas": personas, "data": consents})


async def show_consent(request: Request, svc: LikenessService) -> Response:
    return json_response(consent_json(await svc.get_consent(request.path_params["consent_id"]), time.time()))


async def revoke_consent(request: Request, svc: LikenessService) -> Response:
    body = await json_body(request, required=False)
    if body is None:
        body = {}
    if not isinstance(body, dict) or set(body) - {"reason"} or not isinstance(body.get("reason", ""), str):
        raise invalid_request('the revoke body is optional; if sent it must be {"reason": "<text>"}')
    consent = await svc.revoke_consent(request.path_params["consent_id"], actor=ACTOR, reason=body.get("reason"))
    return json_response(consent_json(consent, time.time()))


def likeness_routes(get_service: Callable[[], LikenessService], cfg: CandorConfig) -> list[Route]:
    """The /admin/personas and /admin/consents routes; ``get_service`` is called per request."""

    def endpoint(handler: Handler, *, write: bool) -> Callable[[Request], Awaitable[Response]]:
        return guarded(lambda request: handler(request, get_service()), cfg, write=write)

    return [
        Route("/admin/personas", endpoint(create_persona, write=True), methods=["POST"]),
        Route("/admin/personas", endpoint(list_personas, write=False), methods=["GET"]),
        Route("/admin/personas/{persona_id}", endpoint(show_persona, write=False), methods=["GET"]),
        Route("/admin/personas/{persona_id}", endpoint(patch_persona, write=True), methods=["PATCH"]),
        Route("/admin/consents", endpoint(create_consent, write=True), methods=["POST"]),
        Route("/admin/consents", endpoint(list_consents, write=False), methods=["GET"]),
        Route("/admin/consents/{consent_id}", endpoint(show_consent, write=False), methods=["GET"]),
        Route("/admin/consents/{consent_id}/revoke", endpoint(revoke_consent, write=True), methods=["POST"]),
    ]
