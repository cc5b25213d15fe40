"""The interfaces the alert outbox needs from the outside: a durable table and a sender.

Implementations live in ``adapters/``: the outbox in SQLite or PostgreSQL (the audit log's
database, table ``alerts_outbox``), the sender over HTTP (``alerts_webhook``).

Several processes may share one outbox (replicas, a restarted proxy): a process *claims* due alerts
by writing a lease (owner, until when) on them, so two processes never send the same alert at the
same time; a lease left by a process that died expires and another process takes the alert over.
Delivery is therefore at least once: receivers drop duplicates by alert id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from middleware.alerts.models import Alert, OutboxEntry, Status


class OutboxStore(Protocol):
    async def open(self) -> None:
        """Connect and migrate (idempotent; safe with several replicas starting together)."""

    async def close(self) -> None: ...

    async def insert(self, alert: Alert, body: bytes, next_attempt_at: float) -> bool:
        """Store a pending alert durably (committed when this returns); False if its id exists."""

    async def claim(self, now: float, limit: int, lease_until: float, owner: str) -> list[OutboxEntry]:
        """Lease up to ``limit`` pending alerts due at ``now`` (unleased or lease expired), oldest due first."""

    async def finish(self, alert_id: str, owner: str, *, status: Status, attempts: int, at: float,
                     http_status: int | None, error: str | None, next_attempt_at: float | None) -> bool:
        """Record an attempt's outcome and drop the lease; False if ``owner`` no longer held it."""

    async def retry_now(self, alert_id: str, at: float) -> bool:
        """An operator's "retry now": make an undelivered, unleased alert due at ``at`` (a failed one pending
        again, for one more attempt); False if there is no such alert."""

    async def release(self, owner: str) -> None:
        """Drop every lease ``owner`` holds (a clean shutdown: others may take the alerts at once)."""

    async def get(self, alert_id: str) -> OutboxEntry | None: ...

    async def list_entries(self, status: Status | None, limit: int) -> list[OutboxEntry]:
        """Newest first; all statuses when ``status`` is None."""

    async def next_due(self) -> float | None:
        """When the earliest pending alert becomes claimable (None: nothing pending)."""


@dataclass(frozen=True, slots=True)
class SendResult:
    status: int | None  # HTTP status; None when no response arrived
    error: str | None
    duration_ms: float

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class AlertSender(Protocol):
    async def send(self, alert_id: str, body: bytes, attempt: int) -> SendResult:
        """POST ``body``, signed; never raises for network or HTTP failures (they are a SendResult)."""

    async def close(self) -> None: ...
