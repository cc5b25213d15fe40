"""Alerts (a person may be at risk; someone must act) and what happens to them in the outbox.

An alert carries references, not conversation content: the pseudonymous ``user_ref`` (and the app's own
``user_id`` when ``alerts.include_user_id``, the default for the operator's own webhook), the session,
the audit ``event_id`` where the evidence is, and the contacts from the user's profile, so whoever
receives it can reach the guardian or emergency contact (ANTH-CRISIS-3, ANTH-MINOR-4).

Known kinds: ``crisis`` (explicit suicide / self-harm intent or act), ``suspected_minor``,
``minor_safety``, ``consent_revoked``, ``handover``. A kind is any lower-case word so the pipeline
can add one without touching this module; receivers should treat unknown kinds as needing a human.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

KNOWN_KINDS = ("crisis", "suspected_minor", "minor_safety", "consent_revoked", "handover")
Status = Literal["pending", "delivered", "failed"]
STATUSES: tuple[Status, ...] = ("pending", "delivered", "failed")
Outcome = Literal["delivered", "retry", "gave_up", "interrupted"]   # interrupted: the process shut down mid-send

Kind = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Ref = Annotated[str, StringConstraints(min_length=1, max_length=512)]


def new_alert_id() -> str:
    return f"alr_{secrets.token_hex(12)}"


def _now() -> datetime:
    return datetime.now(UTC)


class Alert(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,128}$")] = Field(default_factory=new_alert_id)
    kind: Kind
    created_at: AwareDatetime = Field(default_factory=_now)
    app_id: Ref | None = None
    user_ref: Ref | None = None  # the audit log's keyed pseudonym
    user_id: Ref | None = None  # the app's own user id, only with alerts.include_user_id (the operator's webhook)
    session_id: Ref | None = None
    persona_id: Ref | None = None
    policy_id: Ref | None = None
    level: Ref | None = None  # e.g. crisis: "distress" | "explicit_intent"
    guardian_contact: Ref | None = None
    emergency_contact: Ref | None = None
    # False: the user's profile has neither a guardian nor an emergency contact (someone must find one)
    contacts_on_file: bool | None = None
    event_id: Ref | None = None  # the audit event holding the evidence
    detail: dict[str, Any] = Field(default_factory=dict)

    def body(self) -> bytes:
        """The exact bytes POSTed to the webhook (and signed): one JSON object, the alert's fields
        plus ``"object": "candor.alert"``. Stored once at enqueue, so every retry sends the same bytes."""
        return orjson.dumps({"object": "candor.alert", **self.model_dump(mode="json")})


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """An alert and its delivery state. Times are epoch seconds."""

    alert: Alert
    body: bytes
    status: Status
    attempts: int
    next_attempt_at: float | None  # pending only
    last_attempt_at: float | None = None
    last_status: int | None = None  # HTTP status of the last attempt (None: no response)
    last_error: str | None = None
    delivered_at: float | None = None

    def as_json(self) -> dict[str, Any]:
        def iso(ts: float | None) -> str | None:
            return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()

        return {**self.alert.model_dump(mode="json"), "object": "candor.alert",
                "delivery": {"status": self.status, "attempts": self.attempts,
                             "next_attempt_at": iso(self.next_attempt_at),
                             "last_attempt_at": iso(self.last_attempt_at), "last_status": self.last_status,
                             "last_error": self.last_error, "delivered_at": iso(self.delivered_at)}}


@dataclass(frozen=True, slots=True)
class Attempt:
    """One delivery attempt, reported through ``on_attempt`` (the lead writes it to the audit log)."""

    alert_id: str
    kind: str
    event_id: str | None  # the audit event the alert is about
    app_id: str | None
    user_ref: str | None
    session_id: str | None
    number: int  # 1 for the first attempt, counted across restarts
    at: float  # epoch seconds
    outcome: Outcome
    http_status: int | None
    error: str | None
    duration_ms: float
    next_attempt_at: float | None  # when outcome is "retry"
