"""What every admin and auditor route shares: bearer-key roles, JSON bodies, errors in the OpenAI shape.

``Authorization: Bearer <admin key>`` may read and write; the auditor key may only read; app keys
are never accepted. Keys come from the environment variables the config names (``admin.key_env``,
``admin.auditor_key_env``), read per request so a rotated key takes effect without a restart, and
compared in constant time. Used by the persona, profile, alert, hand-over and audit APIs.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import orjson
import structlog
from starlette.requests import Request
from starlette.responses import Response

from middleware.config.deployment import CandorConfig
from middleware.http.errors import CandorError, invalid_request

log = structlog.get_logger("candor.admin")
Role = Literal["admin", "auditor"]
MAX_BODY = 64 * 1024


def json_response(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def error_response(exc: CandorError) -> Response:
    return Response(exc.json(), status_code=exc.status, media_type="application/json", headers=exc.headers)


def role_of(request: Request, cfg: CandorConfig) -> Role:
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


def read_only(request: Request) -> CandorError:
    """The refusal of a request the auditor key may not make."""
    return CandorError(403, "permission_denied",
                       f"the auditor key may only read; {request.method} {request.url.path} needs the admin key")


async def json_body(request: Request, *, required: bool = True) -> Any:
    """The parsed JSON body; an empty body is a 400 when ``required``, else None."""
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise CandorError(413, "request_too_large", f"admin request bodies are limited to {MAX_BODY} bytes")
    if not raw.strip():
        if not required:
            return None
        raise invalid_request("the request needs a JSON body")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise invalid_request(f"the body is not valid JSON: {exc}") from None


def guarded(handler: Callable[[Request], Awaitable[Response]], cfg: CandorConfig, *,
            write: bool) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler: check the role (writes need the admin key), turn errors into OpenAI-shaped bodies."""

    async def run(request: Request) -> Response:
        try:
            role = role_of(request, cfg)
            if write and role != "admin":
                raise read_only(request)
            return await handler(request)
        except CandorError as exc:
            return error_response(exc)
        # anything else is a bug: the app's one error boundary logs, records and answers it

    return run
