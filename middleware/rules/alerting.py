"""Alerts the protective rules raise (ANTH-CRISIS-2/3, ANTH-MINOR-4/5), through the durable outbox.

An alert carries references, never content: the user's audit pseudonym (and, with
``alerts.include_user_id``, the app's own user id, so the operator can find the person), the session, the
audit event holding the evidence, and the guardian and emergency contacts from the user's profile, or
``contacts_on_file: false`` with a note when there are none. The outbox commits it before ``enqueue``
returns; if it cannot (database down), the reply still goes out (help for a person in crisis is never
withheld because a notification failed) and the failure is recorded as a decision with ``outcome:
error``, so ``compliance.crisis.alerted`` is false. ``alerted`` is also false when no webhook is
configured: the alert then only waits in the outbox (decision ``queued_no_webhook``), and nobody is told.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import structlog

from middleware.alerts.models import Alert
from middleware.pipeline.exchange import Exchange
from middleware.profiles.models import UserProfile

log = structlog.get_logger("candor.alerts")


NO_CONTACT_NOTE = ("no guardian or emergency contact is on file for this user: find another way to reach them "
                   "or their guardian, and record the contacts on their profile (PUT /admin/users/{id})")


class AlertSink(Protocol):
    async def enqueue(self, alert: Alert) -> Alert: ...

    @property
    def webhook_configured(self) -> bool: ...


class Alerter:
    """Builds and enqueues alerts for an exchange. Without an outbox (tests, tools) it sends nothing."""

    def __init__(self, outbox: Callable[[], AlertSink] | None = None,
                 pseudonym: Callable[[str], str] | None = None, *, include_user_id: bool = True) -> None:
        self._outbox = outbox
        self._pseudonym = pseudonym
        self._include_user_id = include_user_id

    @property
    def enabled(self) -> bool:
        return self._outbox is not None

    def user_ref(self, user_id: str | None) -> str | None:
        if user_id is None or self._pseudonym is None:
            return None
        return self._pseudonym(user_id)

    async def send(self, ex: Exchange, kind: str, cites: Sequence[str], *, level: str | None = None,
                   detail: dict[str, Any] | None = None, once_per_day: bool = False,
                   episode: str | None = None) -> bool:
        """Enqueue one alert about ``ex``; True once it is durably stored for a configured webhook (so
        ``compliance.crisis.alerted`` means someone will hear of it). Without a webhook the alert is still
        kept in the outbox (``GET /admin/alerts``) but the answer is False. ``once_per_day``: one alert of
        this kind per user and day; ``episode``: one alert of this kind per episode key (the outbox
        ignores an id it already holds)."""
        if self._outbox is None:
            return False
        ctx = ex.ctx
        profile: UserProfile | None = ex.state.profile
        fields: dict[str, Any] = {}
        if once_per_day and ctx.user_id:
            day = int(ex.now // 86400)
            digest = hashlib.sha256(f"{kind}\x1f{ctx.app_id}\x1f{ctx.user_id}\x1f{day}".encode()).hexdigest()
            fields["id"] = f"alr_{kind[:16]}_{digest[:24]}"
        elif episode is not None:
            digest = hashlib.sha256(f"{kind}\x1f{ctx.app_id}\x1f{episode}".encode()).hexdigest()
            fields["id"] = f"alr_{kind[:16]}_{digest[:24]}"
        guardian = profile.guardian_contact if profile else None
        emergency = profile.emergency_contact if profile else None
        on_file = bool(guardian or emergency)
        info = dict(detail or {})
        if not on_file:
            info["note"] = NO_CONTACT_NOTE
        try:
            outbox = self._outbox()
            alert = Alert(
                kind=kind, app_id=ctx.app_id, user_ref=self.user_ref(ctx.user_id),
                user_id=ctx.user_id if self._include_user_id else None,
                session_id=ctx.session_id or ctx.session_hint, persona_id=ctx.persona_id, policy_id=ex.policy.id,
                level=level, guardian_contact=guardian, emergency_contact=emergency, contacts_on_file=on_file,
                event_id=ex.event_id, detail=info, **fields)
            await outbox.enqueue(alert)
        except Exception as exc:
            log.error("alert_not_enqueued", kind=kind, event_id=ex.event_id, error=repr(exc))
            ex.decide("alert", list(cites), "error", {"kind": kind, "error": type(exc).__name__})
            return False
        configured = outbox.webhook_configured
        ex.decide("alert", list(cites), "enqueued" if configured else "queued_no_webhook",
                  {"kind": kind, "alert_id": alert.id, "contacts_on_file": on_file})
        return configured
