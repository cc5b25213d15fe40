"""Admin and auditor HTTP API for personas and consents (contract 3.4), as Starlette routes.

``Authorization: Bearer <admin key>`` may read and write; the auditor key may only read. Keys come
from the environment variables the config names (``admin.key_env``, ``admin.auditor_key_env``),
read per request so a rotated key takes effect without a restart. Errors use the OpenAI shape.

Auditor export of a subject's whole consent history (revoked and replaced consents included):
``GET /admin/consents?subject_id=<id>&history=1``.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import orjson
import structlog
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..config import CandorConfig
from ..errors import CandorError, invalid_request
from .models import Consent, Persona, from_ts
from .service import LikenessService

log = structlog.get_logger("candor.likeness")
Role = Literal["admin", "auditor"]
Handler = Callable[[Request, LikenessService], Awaitable[Response]]
MAX_BODY = 64 * 1024
ACTOR = "admin-api"
_STATUSES = ("active", "pending", "expired", "revoked")


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def _error(exc: CandorError) -> Response:
    return Response(exc.json(), status_code=exc.status, media_type="application/json", headers=exc.headers)


def persona_json(persona: Persona) -> dict[str, Any]:
    return persona.model_dump(mode="json")


def consent_json(consent: Consent, now: float) -> dict[str, Any]:
    data = consent.model_dump(mode="json")
    data["status"] = consent.status(from_ts(now))
    return data


def _role(request: Request, cfg: CandorConfig) -> Role:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    admin = os.environ.get(cfg.admin.key_env, "")
    auditor = os.environ.get(cfg.admin.auditor_key_env, "")
    if not admin and not auditor:
        raise CandorError(401, "invalid_api_key",
                          f"the admin API is disabled: set ${cfg.admin.key_env} (and optionally "
                          f"${cfg.admin.auditor_key_env}) in the proxy's environment")
    if scheme.lower() != "bearer" or not token.strip():
        raise CandorError(401, "invalid_api_key",
                          "missing key: send 'Authorization: Bearer <admin key>' (the auditor key may read)")
    given = token.strip().encode()
    # compare against both keys every time: the timing does not reveal which one nearly matched
    is_admin = bool(admin) & hmac.compare_digest(given, admin.encode())
    is_auditor = bool(auditor) & hmac.compare_digest(given, auditor.encode())
    if is_admin:
        return "admin"
    if is_auditor:
        return "auditor"
    raise CandorError(401, "invalid_api_key", "the key is neither the admin key nor the auditor key")


async def _body(request: Request) -> Any:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise CandorError(413, "request_too_large", f"admin request bodies are limited to {MAX_BODY} bytes")
    if not raw.strip():
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise invalid_request(f"the body is not valid JSON: {exc}") from None


def _flag(request: Request, name: str) -> bool:
    value = request.query_params.get(name, "0").lower()
    if value not in ("0", "1", "true", "false", ""):
        raise invalid_request(f"query parameter {name} must be 1 or 0, not {value!r}", param=name)
    return value in ("1", "true")


# -- handlers ---------------------------------------------------------------------------------------

async def create_persona(request: Request, svc: LikenessService) -> Response:
    persona = await svc.add_persona(await _body(request), actor=ACTOR)
    return _json(persona_json(persona), 201)


async def list_personas(request: Request, svc: LikenessService) -> Response:
    return _json({"object": "list", "data": [persona_json(p) for p in await svc.list_personas()]})


async def show_persona(request: Request, svc: LikenessService) -> Response:
    persona = await svc.get_persona(request.path_params["persona_id"])
    return _json({**persona_json(persona), "consent": await svc.consent_coverage(persona)})


async def patch_persona(request: Request, svc: LikenessService) -> Response:
    persona = await svc.patch_persona(request.path_params["persona_id"], await _body(request), actor=ACTOR)
    return _json(persona_json(persona))


async def create_consent(request: Request, svc: LikenessService) -> Response:
    consent = await svc.add_consent(await _body(request), actor=ACTOR)
    return _json(consent_json(consent, time.time()), 201)


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
        return _json({"object": "list", "data": consents})
    if subject_id is None:
        raise invalid_request("history=1 exports one subject's consent history: add subject_id=<id>",
                              param="subject_id")
    subject = await svc.get_subject(subject_id)
    personas = [p.id for p in await svc.list_personas() if p.likeness and p.likeness.subject_id == subject_id]
    return _json({"object": "consent_history", "exported_at": from_ts(now).isoformat(),
                  "subject": subject.model_dump(mode="json"), "personas": personas, "data": consents})


async def show_consent(request: Request, svc: LikenessService) -> Response:
    return _json(consent_json(await svc.get_consent(request.path_params["consent_id"]), time.time()))


async def revoke_consent(request: Request, svc: LikenessService) -> Response:
    body = await _body(request)
    if body is None:
        body = {}
    if not isinstance(body, dict) or set(body) - {"reason"} or not isinstance(body.get("reason", ""), str):
        raise invalid_request('the revoke body is optional; if sent it must be {"reason": "<text>"}')
    consent = await svc.revoke_consent(request.path_params["consent_id"], actor=ACTOR, reason=body.get("reason"))
    return _json(consent_json(consent, time.time()))


def likeness_routes(get_service: Callable[[], LikenessService], cfg: CandorConfig) -> list[Route]:
    """The /admin/personas and /admin/consents routes; ``get_service`` is called per request."""

    def endpoint(handler: Handler, *, write: bool) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            try:
                role = _role(request, cfg)
                if write and role != "admin":
                    raise CandorError(403, "permission_denied",
                                      f"the auditor key may only read; {request.method} {request.url.path} "
                                      "needs the admin key")
                return await handler(request, get_service())
            except CandorError as exc:
                return _error(exc)
            except Exception as exc:
                log.exception("admin_api_failed", path=request.url.path)
                return _error(CandorError(500, "internal_error", f"the request failed: {type(exc).__name__}"))
        return run

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
