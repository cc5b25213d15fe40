"""The audit store interface. Adapters (``adapters/sqlite/audit.py``, ``adapters/postgres/audit.py``)
implement it; the engine only ever talks to this Protocol.

Every write is one transaction and idempotent (rows already present are left alone), so a spool
can be replayed after a crash without duplicating anything. A store raises ``StoreUnavailable``
(or lets any exception escape) when it cannot do its job; the log then treats it as down.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import orjson


class StoreUnavailable(Exception):
    """The store cannot be reached or refused the write."""


@dataclass(frozen=True, slots=True)
class EventRow:
    """One stored event: the hashed ``body`` plus index columns copied out of it for queries."""

    stream: str
    seq: int
    event_id: str
    ts_us: int
    kind: str
    user_ref: str | None
    session_id: str | None
    content_ref: str | None
    body: bytes  # canonical JSON without hash
    hash: str


@dataclass(frozen=True, slots=True)
class ContentRow:
    content_ref: str
    user_ref: str
    key_id: str
    ts_us: int  # the event's time: retention and erasure tombstones compare against it
    nonce: bytes
    ciphertext: bytes


@dataclass(frozen=True, slots=True)
class KeyRow:
    """A per-user data key, wrapped (AES-GCM) by the master key. A user may have several."""

    key_id: str
    user_ref: str
    wrapped: bytes


@dataclass(frozen=True, slots=True)
class StreamAnchor:
    """A stream's signed start after a purge: its first kept event and that event's ``prev_hash``."""

    stream: str
    first_seq: int
    prev_hash: str
    signature: str
    key_id: str


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """What the store keeps per stream beside the events (updated in the same transactions)."""

    stream: str
    head_seq: int
    head_hash: str
    checkpoint_seq: int | None
    checkpoint_hash: str | None
    checkpoint_sig: str | None
    checkpoint_key_id: str | None
    anchor: StreamAnchor | None


@dataclass(frozen=True, slots=True)
class EventFilter:
    session_id: str | None = None
    user_ref: str | None = None
    kind: str | None = None
    kinds: tuple[str, ...] | None = None  # any of these (with ``kind``: both must hold)
    since_us: int | None = None  # inclusive
    until_us: int | None = None  # exclusive


# position in the time-ordered listing: (ts_us, stream, seq) of the last row returned
Cursor = tuple[int, str, int]


@runtime_checkable
class AuditStore(Protocol):
    url: str

    async def open(self) -> None:
        """Connect and bring the schema up to date (migrations are versioned)."""

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise if the store cannot take a write right now."""

    async def append(self, events: Sequence[EventRow], contents: Sequence[ContentRow],
                     keys: Sequence[KeyRow]) -> None:
        """Store events, content and new data keys in one transaction, advancing stream heads.

        Content (and the keys it needs) of a user erased at or after the event's time is dropped,
        checked inside the transaction, so neither a racing writer nor a replayed spool can bring
        erased content back.
        """

    async def user_keys(self, user_refs: Sequence[str]) -> dict[str, KeyRow]:
        """The newest data key of each user that has one."""

    async def get_keys(self, key_ids: Sequence[str]) -> dict[str, KeyRow]: ...

    async def get_content(self, refs: Sequence[str]) -> dict[str, ContentRow]: ...

    async def erase_user(self, user_ref: str, erased_at_us: int) -> tuple[int, int]:
        """Delete the user's data keys and content, record a tombstone; return (keys, contents)."""

    async def streams(self) -> list[StreamInfo]: ...

    async def stream_head(self, stream: str) -> tuple[int, str, int] | None:
        """(head seq, head hash, head ts_us) of a stream, None when it has no events."""

    async def scan(self, after: tuple[str, int] | None, limit: int) -> list[EventRow]:
        """Events in (stream, seq) order after the given position: the verifier's walk."""

    async def query(self, flt: EventFilter, after: Cursor | None, limit: int) -> list[EventRow]:
        """Events matching ``flt`` in (ts_us, stream, seq) order after ``after``."""

    async def purge_plan(self, before_us: int) -> list[tuple[str, int, str]]:
        """Per stream with events older than ``before_us``: (stream, first kept seq, its prev_hash).

        A stream whose every event is older gets (stream, head_seq + 1, head_hash).
        """

    async def purge(self, anchors: Sequence[StreamAnchor]) -> int:
        """Delete each stream's events below ``first_seq`` and their content; store the anchors."""


@dataclass(frozen=True, slots=True)
class CheckpointInfo:
    stream: str
    seq: int  # the last event the checkpoint covers
    hash: str
    sig: str
    key_id: str


def checkpoints_in(events: Sequence[EventRow]) -> dict[str, CheckpointInfo]:
    """The newest checkpoint per stream among ``events``; stores copy it into their stream table."""
    found: dict[str, CheckpointInfo] = {}
    for row in events:
        if row.kind != "checkpoint":
            continue
        detail = orjson.loads(row.body)["decisions"][0]["detail"]
        if detail.get("phase") in ("start", "resume"):   # life-cycle records cover no new events
            continue
        prev = found.get(row.stream)
        if prev is None or detail["seq"] > prev.seq:
            found[row.stream] = CheckpointInfo(row.stream, detail["seq"], detail["hash"], detail["sig"],
                                               detail["key_id"])
    return found
