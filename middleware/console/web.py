"""What every console route shares: templates, security headers, the session guard, CSRF on writes,
and the ``console`` audit event that records each sign-in and each write."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
import structlog
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from middleware.audit.events import EventDraft, new_event_id
from middleware.console.deps import ConsoleDeps
from middleware.console.i18n import LANG_COOKIE, pick_lang, translator
from middleware.console.session import COOKIE, Session, Sessions
from middleware.http.errors import CandorError

log = structlog.get_logger("candor.console")
HERE = Path(__file__).parent
PREFIX = "/console"

# no inline script or style, no other host: the scripts are files under /console/static.
# Referrer-Policy same-origin, not no-referrer: with no-referrer browsers send "Origin: null" on form posts
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "content-security-policy": CSP, "x-content-type-options": "nosniff", "referrer-policy": "same-origin",
    "x-frame-options": "DENY", "cache-control": "no-store", "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}

_env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                   trim_blocks=True, lstrip_blocks=True)
_env.filters["json"] = lambda v: orjson.dumps(v, option=orjson.OPT_INDENT_2).decode()


def secure(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


def lang_of(request: Request) -> str:
    return pick_lang(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))


def render(request: Request, template: str, session: Session | None, status: int = 200, **ctx: Any) -> Response:
    lang = lang_of(request)
    html = _env.get_template(template).render(
        t=translator(lang), lang=lang, session=session, path=request.url.path, query_string=request.url.query,
        full_path=request.url.path + (f"?{request.url.query}" if request.url.query else ""), quote=quote, **ctx)
    return secure(Response(html, status_code=status, media_type="text/html; charset=utf-8"))


def json_out(data: Any, status: int = 200) -> Response:
    return secure(Response(orjson.dumps(data), status_code=status, media_type="application/json"))


def api_error(status: int, code: str, message: str) -> Response:
    return json_out({"error": {"message": message, "type": "invalid_request_error", "code": code, "param": None}},
                    status)


Handler = Callable[[Request, Session], Awaitable[Response]]


class Guard:
    """Wraps console handlers: a valid session for everything; for writes also the admin role, the
    CSRF token of the session and a same-origin ``Origin`` header when the browser sends one."""

    def __init__(self, deps: ConsoleDeps, sessions: Sessions) -> None:
        self.deps = deps
        self.sessions = sessions
        self.on_signin: Callable[[], None] | None = None

    def session(self, request: Request) -> Session | None:
        return self.sessions.read(request.cookies.get(COOKIE))

    def read(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            session = self.session(request)
            if session is None:
                return self._unauthenticated(request)
            try:
                return await handler(request, session)
            except Exception as exc:
                log.exception("console_failed", path=request.url.path)
                return self._failed(request, session, exc)

        return run

    def write(self, action: str, handler: Handler, *,
              admin_only: bool = True) -> Callable[[Request], Awaitable[Response]]:
        """A POST: CSRF-checked and recorded. ``admin_only=False`` for actions an auditor may take that
        change nothing (running verify)."""

        async def run(request: Request) -> Response:
            session = self.session(request)
            if session is None:
                return self._unauthenticated(request)
            if admin_only and session.role != "admin":
                return api_error(403, "permission_denied", "the auditor may only read; this needs the admin key")
            origin = request.headers.get("origin")
            if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
                return api_error(403, "csrf_failed", f"cross-origin write refused (Origin {origin})")
            if too_large(request):
                return api_error(413, "request_too_large", f"console forms are limited to {MAX_FORM} bytes")
            form = await request.form()
            token = form.get("csrf")
            if not self.sessions.csrf_ok(session, token if isinstance(token, str) else None):
                return api_error(403, "csrf_failed", "missing or wrong CSRF token: reload the page and try again")
            target = dict(request.path_params)   # which consent, alert, session ... the write names
            try:
                response = await handler(request, session)
            except CandorError as exc:   # refused by the service (bad input, unknown id): back to the form
                await self.record(action, session, "refused", {"target": target, "error": exc.message})
                back = safe_next(str(form.get("back") or request.headers.get("referer", "").partition(
                    request.url.netloc)[2]).split("?")[0])
                return secure(RedirectResponse(f"{back}?err={quote(exc.message[:300])}", status_code=303))
            except Exception as exc:
                log.exception("console_write_failed", path=request.url.path)
                await self.record(action, session, "failed",
                                  {"target": target, "error": f"{type(exc).__name__}: {exc}"})
                return self._failed(request, session, exc)
            await self.record(action, session, "done" if response.status_code < 400 else "refused",
                              {"target": target, "status": response.status_code})
            return response

        return run

    async def record(self, action: str, session: Session | None, outcome: str, detail: dict[str, Any],
                     role: str | None = None) -> None:
        """A ``console`` audit event (fail closed: a write whose record cannot be kept raises)."""
        await self.deps.audit().append(EventDraft(
            event_id=new_event_id(), kind="console", app_id="console", status=200 if outcome != "refused" else 403,
            decisions=[{"rule": f"console.{action}", "cites": ["ANTH-LOG-1"], "outcome": outcome,
                        "detail": {"role": role or (session.role if session else None),
                                   "session": session.sid[:8] if session else None, **detail}}]))

    @staticmethod
    def _unauthenticated(request: Request) -> Response:
        if request.url.path.startswith(PREFIX + "/api/") or request.method != "GET":
            return api_error(401, "session_required", "sign in at /console/signin first")
        return secure(RedirectResponse(f"{PREFIX}/signin?next={quote(request.url.path)}", status_code=303))

    @staticmethod
    def _failed(request: Request, session: Session, exc: Exception) -> Response:
        if request.url.path.startswith(PREFIX + "/api/"):
            return api_error(500, "internal_error", f"the console failed: {type(exc).__name__}")
        return render(request, "error.html", session, status=500, message=f"{type(exc).__name__}: {exc}")


MAX_FORM = 64 * 1024


def too_large(request: Request) -> bool:
    """A form body over ``MAX_FORM`` (or of undeclared length: browsers always declare it)."""
    length = request.headers.get("content-length")
    return length is None or not length.isdigit() or int(length) > MAX_FORM


def safe_next(target: str | None) -> str:
    """Only a path inside the console: never an open redirect."""
    if target and target.startswith(PREFIX) and not target.startswith("//") and "\\" not in target:
        return target
    return PREFIX
