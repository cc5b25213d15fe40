"""Alerts the protective rules raise (ANTH-CRISIS-2/3, ANTH-MINOR-4/5), through the durable outbox.

An alert carries references, never content: the user's audit pseudonym, the session, the audit
event holding the evidence, and the guardian and emergency contacts from the user's profile. The
outbox commits it before ``enqueue`` returns; if it cannot (database down), the reply still goes out
(help for a person in crisis is never withheld because a notification failed) and the failure is
recorded as a decision with ``outcome: error``, so ``compliance.crisis.alerted`` is false.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import structlog

from ..alerts.models import Alert
from ..exchange import Exchange
from ..profiles.models import UserProfile

log = structlog.get_logger("candor.alerts")
PROFILE = "profile"      # ex.extra: the user's UserProfile (None when none is registered)


class AlertSink(Protocol):
    async def enqueue(self, alert: Alert) -> Alert: ...


class Alerter:
    """Builds and enqueues alerts for an exchange. Without an outbox (tests, tools) it sends nothing."""

    def __init__(self, outbox: Callable[[], AlertSink] | None = None,
                 pseudonym: Callable[[str], str] | None = None) -> None:
        self._outbox = outbox
        self._pseudonym = pseudonym

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
        """Enqueue one alert about ``ex``; True once it is durably stored. ``once_per_day``: one alert of
        this kind per user and day; ``episode``: one alert of this kind per episode key (the outbox
        ignores an id it already holds)."""
        if self._outbox is None:
            return False
        ctx = ex.ctx
        profile: UserProfile | None = ex.extra.get(PROFILE)
        fields: dict[str, Any] = {}
        if once_per_day and ctx.user_id:
            day = int(ex.now // 86400)
            digest = hashlib.sha256(f"{kind}\x1f{ctx.app_id}\x1f{ctx.user_id}\x1f{day}".encode()).hexdigest()
            fields["id"] = f"alr_{kind[:16]}_{digest[:24]}"
        elif episode is not None:
            digest = hashlib.sha256(f"{kind}\x1f{ctx.app_id}\x1f{episode}".encode()).hexdigest()
            fields["id"] = f"alr_{kind[:16]}_{digest[:24]}"
        try:
            alert = Alert(
                kind=kind, app_id=ctx.app_id, user_ref=self.user_ref(ctx.user_id),
                session_id=ctx.session_id or ctx.session_hint, persona_id=ctx.persona_id, policy_id=ex.policy.id,
                level=level, guardian_contact=profile.guardian_contact if profile else None,
                emergency_contact=profile.emergency_contact if profile else None, event_id=ex.event_id,
                detail=detail or {}, **fields)
            await self._outbox().enqueue(alert)
        except Exception as exc:
            log.error("alert_not_enqueued", kind=kind, event_id=ex.event_id, error=repr(exc))
            ex.decide("alert", list(cites), "error", {"kind": kind, "error": type(exc).__name__})
            return False
        ex.decide("alert", list(cites), "enqueued", {"kind": kind, "alert_id": alert.id})
        return True
