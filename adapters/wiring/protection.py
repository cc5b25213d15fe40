"""What the vulnerable-user rules need at run time (issue 7), opened at start-up by ``wiring.py``:
user profiles, the durable alert outbox, the crisis hand-over registry, their admin routes, the
guardians' usage summary, and the audit hooks (``profile_change``, ``alert_delivery``,
``handover_release`` events).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import structlog
from starlette.routing import Route

from adapters.stores.handover import handover_store
from adapters.wiring.alerts import AlertsRuntime, build_alerts
from adapters.wiring.profiles import ProfilesRuntime, build_profiles
from middleware.alerts.api import alert_routes
from middleware.alerts.handover import Handover, HandoverRegistry, handover_routes
from middleware.alerts.models import Attempt
from middleware.alerts.outbox import AlertOutbox
from middleware.audit.log import AuditLog
from middleware.config.deployment import CandorConfig
from middleware.http.auth import App
from middleware.policy.registry import PolicyRegistry
from middleware.profiles.api import profile_routes
from middleware.profiles.models import MINOR_BANDS
from middleware.profiles.service import ChangeRecord, ProfileService
from middleware.rules.records import alert_attempt_event, handover_release_event, profile_change_event
from middleware.rules.session import user_scope_key
from middleware.state import StateStore

log = structlog.get_logger("candor.alerts")


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()


class Protection:
    def __init__(self, cfg: CandorConfig, *, audit: Callable[[], AuditLog], state: Callable[[], StateStore],
                 policies: PolicyRegistry, apps: Sequence[App], clock: Callable[[], float]) -> None:
        self.cfg = cfg
        self._audit = audit
        self._state = state
        self._policies = policies
        self._apps = list(apps)
        self._clock = clock
        self.profiles: ProfilesRuntime | None = None
        self.alerts: AlertsRuntime | None = None
        self.handover: HandoverRegistry | None = None

    def set_apps(self, apps: Sequence[App]) -> None:
        """The apps after a live reload of candor.yaml (the guardians' usage summary covers each)."""
        self._apps = list(apps)

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        self.profiles = await build_profiles(self.cfg, on_change=self.record_profile_change)
        self.alerts = await build_alerts(self.cfg, on_attempt=self.record_attempt)
        if self.alerts.sender is None:
            log.warning("alerts_no_webhook", message="alerts.webhook_url is not set: crisis and minors' alerts "
                        "only wait in the outbox (GET /admin/alerts?status=pending), nobody is told, and replies "
                        "say compliance.crisis.alerted: false. Set alerts.webhook_url and $"
                        f"{self.cfg.alerts.secret_env}.")
        store = handover_store(self.cfg)
        await store.open()
        self.handover = HandoverRegistry(store, clock=self._clock)
        await self.handover.start()

    async def close(self) -> None:
        if self.handover is not None:
            await self.handover.close()
            await self.handover.store.close()
            self.handover = None
        if self.alerts is not None:
            await self.alerts.close()
            self.alerts = None
        if self.profiles is not None:
            await self.profiles.close()
            self.profiles = None

    # -- what the rules reach (called per request) -------------------------------------------------

    def profile_service(self) -> ProfileService:
        if self.profiles is None:
            raise RuntimeError("user profiles are not open (start-up has not run)")
        return self.profiles.service

    def alert_outbox(self) -> AlertOutbox:
        if self.alerts is None:
            raise RuntimeError("the alert outbox is not open (start-up has not run)")
        return self.alerts.outbox

    def handover_registry(self) -> HandoverRegistry:
        if self.handover is None:
            raise RuntimeError("the hand-over registry is not open (start-up has not run)")
        return self.handover

    def pseudonym(self, user_id: str) -> str:
        ref = self._audit().keys.user_ref(user_id)
        assert ref is not None
        return ref

    # -- audit hooks ----------------------------------------------------------------------------

    async def record_profile_change(self, change: ChangeRecord) -> None:
        await self._audit().append(profile_change_event(change))

    async def record_attempt(self, attempt: Attempt) -> None:
        await self._audit().append(alert_attempt_event(attempt))

    async def record_release(self, ended: list[Handover], actor: str) -> None:
        await self._audit().append(handover_release_event(ended, actor))

    # -- guardians' usage summary (ANTH-MINOR-4) ---------------------------------------------------

    async def usage_for(self, user_id: str) -> dict[str, Any]:
        """Today's use per app from the state store: minutes, sessions, last activity, the minors'
        daily limit when the user is a minor, and when the day (and the limit) resets."""
        now = self._clock()
        profile = await self.profile_service().get(user_id)
        minor = profile is not None and profile.is_minor
        apps: list[dict[str, Any]] = []
        for app in self._apps:
            state = await self._state().snapshot(user_scope_key(app.id, user_id))
            policy = self._policies.get(app.policy)
            limit = policy.minors.daily_limit if minor and policy.minors is not None else None
            if state is None:
                continue
            today = now < state.day_end
            used = state.daily_used if today else 0.0
            apps.append({
                "app_id": app.id, "policy": app.policy,
                "daily_minutes": math.floor(used / 60), "sessions_today": state.sessions_today if today else 0,
                "last_activity": _iso(state.last_seen),
                "daily_limit_minutes": None if limit is None else math.floor(limit / 60),
                "limit_reached": limit is not None and used >= limit,
                "resets_at": _iso(state.day_end if today else None),
            })
        return {"object": "user_usage", "user_id": user_id, "age_band": profile.age_band if profile else None,
                "minor": minor or bool(profile and profile.age_band in MINOR_BANDS),
                "daily_minutes": sum(a["daily_minutes"] for a in apps),
                "sessions_today": sum(a["sessions_today"] for a in apps),
                "last_activity": max((a["last_activity"] for a in apps if a["last_activity"]), default=None),
                "apps": apps}

    # -- admin routes ---------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        return [*profile_routes(self.profile_service, self.cfg, self.usage_for),
                *alert_routes(self.alert_outbox, self.cfg),
                *handover_routes(self.handover_registry, self.cfg, self.record_release)]
