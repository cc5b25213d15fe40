"""Audit events written outside any one exchange: profile, persona and consent changes, alert
delivery attempts and hand-over releases (contract 5; ``middleware/audit/README.md``)."""

from __future__ import annotations

from collections.abc import Sequence

from middleware.alerts.handover import Handover
from middleware.alerts.models import Attempt
from middleware.audit.events import EventDraft, new_event_id
from middleware.likeness.service import ChangeRecord as LikenessChange
from middleware.profiles.service import ChangeRecord

_PROFILE_CITES = {"minors_mode": ["ANTH-MINOR-5"]}
_ALERT_CITES = {"crisis": ["ANTH-CRISIS-2"], "suspected_minor": ["ANTH-MINOR-5"], "minor_safety": ["ANTH-MINOR-4"]}


def profile_change_event(change: ChangeRecord) -> EventDraft:
    """A profile change: who changed which fields (personal values only as set/cleared)."""
    return EventDraft(
        event_id=new_event_id(), kind="profile_change", user_id=change.user_id,
        decisions=[{"rule": "profile_change", "cites": _PROFILE_CITES.get(change.action, ["ANTH-MINOR-4"]),
                    "outcome": change.action,
                    "detail": {"actor": change.actor, "changed": list(change.changed), **change.detail}}],
        fail_mode="closed")


_LIKENESS_CITES = ("DVH-CONSENT-1", "DVH-CONSENT-2")


def likeness_change_event(change: LikenessChange) -> EventDraft:
    """A persona or consent change (admin API, CLI or ``personas:`` in the config)."""
    return EventDraft(
        event_id=new_event_id(), kind=change.kind, persona_id=change.persona_id,
        decisions=[{"rule": change.kind, "cites": list(_LIKENESS_CITES), "outcome": change.action,
                    "detail": {"actor": change.actor, "subject_id": change.subject_id,
                               "consent_id": change.consent_id, **change.detail}}],
        fail_mode="closed")


def alert_attempt_event(attempt: Attempt) -> EventDraft:
    """One delivery attempt of an alert. The alert names the user by their audit pseudonym already, so it
    goes in the detail (the event's own ``user_ref`` is derived from a raw id, which the outbox never holds)."""
    return EventDraft(
        event_id=new_event_id(), kind="alert_delivery", app_id=attempt.app_id, session_id=attempt.session_id,
        decisions=[{"rule": "alert_delivery", "cites": _ALERT_CITES.get(attempt.kind, []),
                    "outcome": attempt.outcome,
                    "detail": {"alert_id": attempt.alert_id, "kind": attempt.kind, "event_id": attempt.event_id,
                               "user_ref": attempt.user_ref, "attempt": attempt.number,
                               "http_status": attempt.http_status, "error": attempt.error,
                               "duration_ms": round(attempt.duration_ms, 3),
                               "next_attempt_at": attempt.next_attempt_at}}],
        status=attempt.http_status or 0, fail_mode="open")


def handover_release_event(ended: Sequence[Handover], actor: str) -> EventDraft:
    first = ended[0]
    return EventDraft(
        event_id=new_event_id(), kind="handover_release", app_id=first.app_id, session_id=first.session_id,
        decisions=[{"rule": "handover", "cites": ["ANTH-CRISIS-3"], "outcome": "released",
                    "detail": {"actor": actor, "released": len(ended),
                               "crisis_event_ids": [h.event_id for h in ended]}}],
        fail_mode="closed")
