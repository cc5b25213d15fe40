"""Sign-in (the key in a POST form, never in a URL), sign-out, and the language switch."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from middleware.console.i18n import LANG_COOKIE, LANGS
from middleware.console.session import COOKIE, Session
from middleware.console.web import MAX_FORM, PREFIX, Guard, api_error, render, safe_next, secure, too_large


def auth_routes(guard: Guard) -> list[Route]:
    sessions = guard.sessions

    async def signin_form(request: Request) -> Response:
        if guard.session(request) is not None:
            return secure(RedirectResponse(safe_next(request.query_params.get("next")), status_code=303))
        return render(request, "signin.html", None, next=safe_next(request.query_params.get("next")),
                      disabled=not sessions.enabled())

    async def signin(request: Request) -> Response:
        origin = request.headers.get("origin")
        if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
            return api_error(403, "csrf_failed", f"cross-origin sign-in refused (Origin {origin})")
        if too_large(request):
            return api_error(413, "request_too_large", f"the sign-in form is limited to {MAX_FORM} bytes")
        form = await request.form()
        key, target = form.get("key"), safe_next(str(form.get("next") or ""))
        role = sessions.role_for_key(key) if isinstance(key, str) and key else None
        if role is None:
            await guard.record("signin", None, "refused", {"client": request.client.host if request.client else None})
            return render(request, "signin.html", None, status=401, next=target, error=True,
                          disabled=not sessions.enabled())
        cookie, session = sessions.issue(role)
        await guard.record("signin", session, "done", {"client": request.client.host if request.client else None})
        if guard.on_signin is not None:
            guard.on_signin()
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(COOKIE, cookie, max_age=int(sessions.lifetime), path=PREFIX, httponly=True,
                            secure=request.url.scheme == "https", samesite="strict")
        return secure(response)

    async def signout(request: Request, session: Session) -> Response:
        sessions.end(session)
        response = RedirectResponse(f"{PREFIX}/signin", status_code=303)
        response.delete_cookie(COOKIE, path=PREFIX, httponly=True, secure=request.url.scheme == "https",
                               samesite="strict")
        return secure(response)

    async def signout_checked(request: Request) -> Response:
        """Any signed-in role may sign out, but only with its CSRF token (no forced sign-out)."""
        session = guard.session(request)
        if session is None:
            return api_error(401, "session_required", "sign in at /console/signin first")
        form = await request.form()
        token = form.get("csrf")
        if not sessions.csrf_ok(session, token if isinstance(token, str) else None):
            return api_error(403, "csrf_failed", "missing or wrong CSRF token: reload the page and try again")
        await guard.record("signout", session, "done", {})
        return await signout(request, session)

    async def set_lang(request: Request) -> Response:
        lang = request.path_params["lang"]
        if lang not in LANGS:
            return api_error(404, "not_found", f"language {lang!r}: use one of {', '.join(LANGS)}")
        response = RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, path=PREFIX, samesite="strict",
                            secure=request.url.scheme == "https")
        return secure(response)

    return [
        Route(f"{PREFIX}/signin", signin_form, methods=["GET"]),
        Route(f"{PREFIX}/signin", signin, methods=["POST"]),
        Route(f"{PREFIX}/signout", signout_checked, methods=["POST"]),
        Route(f"{PREFIX}/lang/{{lang}}", set_lang, methods=["GET"]),
    ]
