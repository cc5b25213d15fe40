"""Audit events: the draft a caller hands in, the sealed event a store keeps, and the hash rule.

Canonical JSON (what the hash covers), so an auditor can re-implement it:

* the event object with every contract field except ``hash`` (``prev_hash`` included);
* keys sorted by code point at every level, no whitespace (separators ``,`` and ``:``);
* UTF-8, non-ASCII characters written as they are (not ``\\u`` escaped), control characters as
  ``\\n``, ``\\t``, ... or ``\\u00XX``;
* floats are normalised when the event is sealed: rounded to 3 decimals (integers from 1e15 up,
  NaN and infinities become ``null``), so they print the same in every mainstream JSON library.

In Python that is ``json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``;
Candor computes it with ``orjson.dumps(event, option=orjson.OPT_SORT_KEYS)`` (same bytes).
``hash = sha256(canonical).hexdigest()``; the first event of a stream has ``prev_hash`` = 64 zeros.
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

GENESIS = "0" * 64

# contract section 5, in contract order (export columns follow it)
FIELDS = (
    "event_id", "seq", "stream", "ts", "kind", "app_id", "user_ref", "session_id", "persona_id",
    "policy_id", "policy_version", "decisions", "notices", "status", "latency_ms", "upstream_model",
    "content_ref", "prev_hash", "hash",
)

# contract kinds, then the ones this log adds (documented in middleware/audit/README.md)
CONTRACT_KINDS = (
    "exchange", "refusal", "error", "crisis", "exit", "consent_change", "persona_change",
    "profile_change", "erasure", "policy_reload", "checkpoint",
)
EXTRA_KINDS = ("purge", "unlabeled_delivery", "alert_delivery", "handover_release", "console", "stream_begin",
               "unauthenticated", "history_export", "complaint")
KINDS = frozenset(CONTRACT_KINDS + EXTRA_KINDS)

FailMode = Literal["closed", "open"]


class AuditUnavailable(Exception):
    """The audit store is down and the policy says fail closed: the caller answers 503."""


class AuditEventInvalid(ValueError):
    """This one event cannot be recorded (not encodable as JSON, nested too deep, over the size
    bounds): the request's own error, never a store outage. Nothing of it entered the chain."""


@dataclass(slots=True)
class EventDraft:
    """What the request pipeline knows about one thing Candor did; ``AuditLog.append`` seals it."""

    event_id: str
    kind: str
    app_id: str | None = None
    user_id: str | None = None  # raw; pseudonymised by the log, never stored
    session_id: str | None = None
    persona_id: str | None = None
    policy_id: str | None = None
    policy_version: str | None = None
    decisions: list[dict[str, Any]] = field(default_factory=list)
    notices: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    latency_ms: float | None = None
    upstream_model: str | None = None
    content: dict[str, Any] | None = None  # encrypted under content_ref when stored
    fail_mode: FailMode = "closed"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown audit event kind {self.kind!r}; expected one of {sorted(KINDS)}")
        if self.fail_mode not in ("closed", "open"):
            raise ValueError(f"fail_mode must be 'closed' or 'open', not {self.fail_mode!r}")


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """A sealed event: ``body`` is the canonical JSON the ``hash`` covers."""

    event_id: str
    stream: str
    seq: int
    ts: str
    kind: str
    user_ref: str | None
    session_id: str | None
    content_ref: str | None
    prev_hash: str
    hash: str
    body: bytes

    def to_dict(self) -> dict[str, Any]:
        """The contract's event object, fields in contract order, ``hash`` included."""
        data: dict[str, Any] = orjson.loads(self.body)
        data["hash"] = self.hash
        return {k: data[k] for k in FIELDS}


def normalise(value: Any) -> Any:
    """Make a JSON value hash-stable: floats rounded as the module docstring says; tuples to lists."""
    t = type(value)
    if t is str or t is int or t is bool or value is None:  # the common case first: exact type checks
        return value
    if t is dict:
        return {k if type(k) is str else str(k): normalise(v) for k, v in value.items()}
    if t is list or t is tuple:
        return [normalise(v) for v in value]
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        rounded = round(value, 3)
        return int(rounded) if abs(rounded) >= 1e15 else rounded
    if isinstance(value, dict):
        return {str(k): normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalise(v) for v in value]
    return value


def canonical_json(event: dict[str, Any]) -> bytes:
    """The exact bytes hashed: ``event`` must not hold ``hash``."""
    return orjson.dumps(event, option=orjson.OPT_SORT_KEYS)


def event_hash(canonical: bytes) -> str:
    return hashlib.sha256(canonical).hexdigest()


def format_ts(epoch: float) -> str:
    """UTC ISO-8601 with microseconds and ``Z``: sorts lexically in time order."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_second: list[Any] = [None, ""]   # the last whole second formatted: most events share it


def format_ts_us(ts_us: int) -> str:
    """``format_ts`` of integer microseconds, exactly, without formatting the date again for every
    event of the same second (the sealing hot path)."""
    sec, us = divmod(ts_us, 1_000_000)
    if sec != _second[0]:
        _second[:] = [sec, datetime.fromtimestamp(sec, UTC).strftime("%Y-%m-%dT%H:%M:%S")]
    return f"{_second[1]}.{us:06d}Z"


def parse_ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def ts_micros(text: str) -> int:
    """Integer microseconds since the epoch, the stores' index column for time filters."""
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


_id_lock = threading.Lock()
_id_last = 0


def new_event_id() -> str:
    """A unique, time-ordered id: 48-bit milliseconds, a counter, and randomness (ULID-like, hex).

    Ids made in one process sort in the order they were made (the counter runs on within a
    millisecond); ids from different processes sort by time to the millisecond.
    """
    global _id_last
    with _id_lock:
        now = time.time_ns() // 1_000_000 << 16
        _id_last = now if now > _id_last else _id_last + 1
        stamp = _id_last
    return f"{stamp:016x}{os.urandom(8).hex()}"
