"""How an outbox row maps to an ``OutboxEntry``, shared by the SQLite and PostgreSQL stores.

Times are integer microseconds since the epoch in the table, float seconds in the service.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from middleware.alerts.models import Alert, OutboxEntry

COLUMNS = "body, status, attempts, next_attempt_at, last_attempt_at, last_status, last_error, delivered_at"


def us(seconds: float) -> int:
    return round(seconds * 1_000_000)


def seconds(value: int | None) -> float | None:
    return None if value is None else value / 1_000_000


def alert_from_body(body: bytes) -> Alert:
    data = orjson.loads(body)
    data.pop("object", None)
    return Alert.model_validate(data)


def entry_from_row(row: Sequence[Any]) -> OutboxEntry:
    body = bytes(row[0])
    return OutboxEntry(alert=alert_from_body(body), body=body, status=row[1],
                       attempts=int(row[2]), next_attempt_at=seconds(row[3]), last_attempt_at=seconds(row[4]),
                       last_status=row[5], last_error=row[6], delivered_at=seconds(row[7]))
