"""Operations: personas and likeness consents (add, revoke, history), user profiles, the alerts outbox,
crisis hand-overs (release) and policies (explain, version, reloads). Auditors see them read-only;
every write is an admin's, CSRF-checked, and recorded (the service's own event plus a ``console`` one)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from middleware.audit.export import event_dict, iter_rows
from middleware.audit.store import EventFilter
from middleware.console.deps import ConsoleDeps
from middleware.console.session import Session
from middleware.console.web import PREFIX, Guard, render, secure
from middleware.http.errors import CandorError
from middleware.likeness.models import from_ts
from middleware.policy.explain import explain

ACTOR = "console"
_HISTORY_DAYS = 90


def _text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value.strip() or None if isinstance(value, str) else None


def _done(path: str) -> Response:
    return secure(RedirectResponse(f"{path}?msg=done", status_code=303))


def _unavailable(what: str) -> CandorError:
    return CandorError(404, "not_available", f"{what} is not available in this deployment")


async def recent_events(deps: ConsoleDeps, kinds: tuple[str, ...], keep: int = 50) -> list[dict[str, Any]]:
    """The newest events of these kinds in the last 90 days, newest first."""
    since = time.time_ns() // 1000 - _HISTORY_DAYS * 86_400_000_000
    found: deque[dict[str, Any]] = deque(maxlen=keep)
    for kind in kinds:
        async for rows in iter_rows(deps.audit().store, EventFilter(kind=kind, since_us=since)):
            found.extend(event_dict(r) for r in rows)
    return sorted(found, key=lambda e: e["ts"], reverse=True)[:keep]


def ops_routes(guard: Guard, deps: ConsoleDeps) -> list[Route]:
    def likeness() -> Any:
        if deps.likeness is None:
            raise _unavailable("the persona registry")
        return deps.likeness()

    async def likeness_page(request: Request, session: Session) -> Response:
        svc = likeness()
        now = time.time()
        consents = [(c, c.status(from_ts(now))) for c in await svc.list_consents(None)]
        return render(request, "ops_likeness.html", session, personas=await svc.list_personas(), consents=consents,
                      history=await recent_events(deps, ("consent_change", "persona_change")),
                      msg=request.query_params.get("msg"), err=request.query_params.get("err"))

    async def add_consent(request: Request, session: Session) -> Response:
        form = await request.form()
        body: dict[str, Any] = {k: _text(form, k) for k in ("id", "subject_id", "granted_by", "purpose",
                                                             "valid_from", "valid_until", "evidence_sha256")}
        body["scopes"] = [s for s in form.getlist("scopes") if isinstance(s, str)]
        await likeness().add_consent({k: v for k, v in body.items() if v is not None}, actor=ACTOR)
        return _done(f"{PREFIX}/ops/likeness")

    async def revoke_consent(request: Request, session: Session) -> Response:
        form = await request.form()
        await likeness().revoke_consent(request.path_params["consent_id"], actor=ACTOR, reason=_text(form, "reason"))
        return _done(f"{PREFIX}/ops/likeness")

    async def add_persona(request: Request, session: Session) -> Response:
        form = await request.form()
        body: dict[str, Any] = {k: _text(form, k) for k in ("id", "display_name", "relationship")}
        subject = _text(form, "subject_id")
        if subject:
            body["likeness"] = {"subject_id": subject,
                                "kinds": [s for s in form.getlist("kinds") if isinstance(s, str)] or ["name"]}
        await likeness().add_persona({k: v for k, v in body.items() if v is not None}, actor=ACTOR)
        return _done(f"{PREFIX}/ops/likeness")

    async def toggle_persona(request: Request, session: Session) -> Response:
        form = await request.form()
        await likeness().patch_persona(request.path_params["persona_id"], {"enabled": form.get("enabled") == "1"},
                                       actor=ACTOR)
        return _done(f"{PREFIX}/ops/likeness")

    def profiles() -> Any:
        if deps.profiles is None:
            raise _unavailable("user profiles")
        return deps.profiles()

    async def profiles_page(request: Request, session: Session) -> Response:
        user = request.query_params.get("user", "").strip()
        profile = await profiles().get(user) if user else None
        return render(request, "ops_profiles.html", session, user=user,
                      profile=profile.model_dump(mode="json") if profile else None,
                      history=await recent_events(deps, ("profile_change",), 30),
                      msg=request.query_params.get("msg"), err=request.query_params.get("err"))

    async def set_profile(request: Request, session: Session) -> Response:
        form = await request.form()
        user = request.path_params["user_id"]
        patch: dict[str, Any] = {k: _text(form, k) for k in ("age_band", "guardian_contact", "emergency_contact")}
        patch["guardian_consent"] = form.get("guardian_consent") == "1"
        patch["unlabeled_allowed"] = form.get("unlabeled_allowed") == "1"
        await profiles().patch(user, patch, actor=ACTOR)
        return secure(RedirectResponse(f"{PREFIX}/ops/profiles?user={user}&msg=done", status_code=303))

    def outbox() -> Any:
        if deps.outbox is None:
            raise _unavailable("the alert outbox")
        return deps.outbox()

    async def alerts_page(request: Request, session: Session) -> Response:
        box = outbox()
        entries = [e.as_json() for e in await box.list(None, 200)]
        attempts: dict[str, list[dict[str, Any]]] = {}
        for ev in await recent_events(deps, ("alert_delivery",), 500):
            d = (ev["decisions"] or [{}])[0]
            detail = d.get("detail") or {}
            attempts.setdefault(str(detail.get("alert_id")), []).append(
                {"ts": ev["ts"], "outcome": d.get("outcome"), **detail})
        return render(request, "ops_alerts.html", session, entries=entries, attempts=attempts,
                      delivering=box.delivering, msg=request.query_params.get("msg"),
                      err=request.query_params.get("err"))

    async def retry_alert(request: Request, session: Session) -> Response:
        alert_id = request.path_params["alert_id"]
        if not await outbox().retry_now(alert_id):
            raise CandorError(404, "alert_not_retryable",
                              f"alert {alert_id!r} is unknown, delivered, or being attempted right now")
        return _done(f"{PREFIX}/ops/alerts")

    async def handover_page(request: Request, session: Session) -> Response:
        if deps.handover is None:
            raise _unavailable("crisis hand-over")
        active = sorted({sid for _, sid in await deps.handover().store.active()})
        return render(request, "ops_handover.html", session, active=active,
                      history=await recent_events(deps, ("handover_release",), 30),
                      msg=request.query_params.get("msg"), err=request.query_params.get("err"))

    async def release(request: Request, session: Session) -> Response:
        if deps.handover is None:
            raise _unavailable("crisis hand-over")
        session_id = request.path_params["session_id"]
        ended = await deps.handover().release(session_id, None, ACTOR)
        if not ended:
            raise CandorError(404, "session_not_paused", f"session {session_id!r} is not handed over")
        if deps.on_release is not None:
            await deps.on_release(ended, ACTOR)
        return _done(f"{PREFIX}/ops/handovers")

    async def policies_page(request: Request, session: Session) -> Response:
        registry = deps.policies
        chosen = request.query_params.get("policy")
        policies = [registry.get(pid) for pid in registry.ids()]
        text = None
        if chosen:
            try:
                text = explain(registry.get(chosen))
            except KeyError:
                text = f"no policy {chosen!r}"
        reloads = await recent_events(deps, ("policy_reload",), 30)
        return render(request, "ops_policies.html", session, policies=policies, chosen=chosen, text=text,
                      reloads=reloads)

    w: Callable[..., Any] = guard.write
    return [
        Route(f"{PREFIX}/ops/likeness", guard.read(likeness_page), methods=["GET"]),
        Route(f"{PREFIX}/ops/consents", w("consent_add", add_consent), methods=["POST"]),
        Route(f"{PREFIX}/ops/consents/{{consent_id}}/revoke", w("consent_revoke", revoke_consent), methods=["POST"]),
        Route(f"{PREFIX}/ops/personas", w("persona_add", add_persona), methods=["POST"]),
        Route(f"{PREFIX}/ops/personas/{{persona_id}}/enabled", w("persona_enable", toggle_persona), methods=["POST"]),
        Route(f"{PREFIX}/ops/profiles", guard.read(profiles_page), methods=["GET"]),
        Route(f"{PREFIX}/ops/profiles/{{user_id}}", w("profile_set", set_profile), methods=["POST"]),
        Route(f"{PREFIX}/ops/alerts", guard.read(alerts_page), methods=["GET"]),
        Route(f"{PREFIX}/ops/alerts/{{alert_id}}/retry", w("alert_retry", retry_alert), methods=["POST"]),
        Route(f"{PREFIX}/ops/handovers", guard.read(handover_page), methods=["GET"]),
        Route(f"{PREFIX}/ops/handovers/{{session_id}}/release", w("handover_release", release), methods=["POST"]),
        Route(f"{PREFIX}/ops/policies", guard.read(policies_page), methods=["GET"]),
    ]
