"""Alerts that arrive (ANTH-CRISIS-3, ANTH-MINOR-4/5): a durable outbox and signed webhook delivery.

- ``models``: Alert, OutboxEntry, Attempt;
- ``signing``: the ``X-Candor-Signature`` scheme (sign and verify);
- ``retry``: RetryPolicy (exponential backoff with jitter, give-up time);
- ``store``: the OutboxStore / AlertSender interfaces (adapters: SQLite, PostgreSQL, httpx webhook);
- ``outbox``: AlertOutbox, ``enqueue`` and the delivery task, reporting attempts via ``on_attempt``;
- ``api``: ``GET /admin/alerts``.
"""

from middleware.alerts.models import KNOWN_KINDS, Alert, Attempt, OutboxEntry
from middleware.alerts.outbox import AlertOutbox, OnAttempt
from middleware.alerts.retry import RetryPolicy
from middleware.alerts.signing import SignatureError, signature, verify
from middleware.alerts.store import AlertSender, OutboxStore, SendResult

__all__ = [
    "KNOWN_KINDS", "Alert", "AlertOutbox", "AlertSender", "Attempt", "OnAttempt", "OutboxEntry", "OutboxStore",
    "RetryPolicy", "SendResult", "SignatureError", "signature", "verify",
]
