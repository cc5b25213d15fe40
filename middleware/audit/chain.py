"""Sealing: turning drafts into chained events, and the signed statements (checkpoints, anchors).

Signed messages are canonical JSON too, so an auditor can check them with any Ed25519 library:
checkpoint ``{"hash": H, "seq": N, "stream": S, "type": "checkpoint"}`` where (N, H) is the last event
before the checkpoint; purge anchor ``{"first_seq": N, "prev_hash": H, "stream": S, "type": "purge_anchor"}``;
anchor-file head ``{"hash": H, "seq": N, "stream": S, "type": "head"}``.

A stream's life is signed too, by ``checkpoint`` events whose detail carries a ``phase``:
``start`` (seq 1: ``{"known_streams": [...], "stream": S, "type": "stream_start"}``; the streams the
store held when this one began, so removing any of them later is detected), ``end`` (the writer
closed it: ``{"hash", "seq", "stream", "type": "stream_end"}`` over the event before it; nothing may
follow except a ``resume``) and ``resume`` (a writer continues a named stream:
``{"hash", "seq", "stream", "type": "stream_resume"}``).
"""

from __future__ import annotations

import os
import socket
from typing import Any

from middleware.audit.events import (
    GENESIS,
    AuditEvent,
    AuditEventInvalid,
    EventDraft,
    canonical_json,
    event_hash,
    format_ts_us,
    normalise,
)
from middleware.audit.keys import AuditKeys
from middleware.audit.store import EventRow


def new_stream_id(base: str | None = None) -> str:
    """hostname-pid-random: every process (and every restart) writes its own chain."""
    suffix = os.urandom(3).hex()
    if base:
        return f"{base}~{suffix}"
    host = socket.gethostname().split(".")[0] or "host"
    return f"{host}-{os.getpid()}-{suffix}"


def signed_message(kind: str, **fields: Any) -> bytes:
    return canonical_json({"type": kind, **fields})


class Chain:
    """The head of one stream; only the log's writer task touches it."""

    def __init__(self, stream: str, seq: int = 0, head: str = GENESIS, last_us: int = 0) -> None:
        self.stream = stream
        self.seq = seq
        self.head = head
        self.last_us = last_us

    def seal(self, draft: EventDraft, now_us: int, user_ref: str | None,
             content_ref: str | None, max_bytes: int | None = None) -> tuple[AuditEvent, EventRow]:
        """Append ``draft`` to the chain. Raises ``AuditEventInvalid`` (chain untouched) when the
        event cannot be encoded or its canonical JSON is over ``max_bytes``."""
        # time never runs backwards within a stream, so time order and chain order agree
        ts_us = max(now_us, self.last_us)
        ts = format_ts_us(ts_us)
        seq = self.seq + 1
        try:
            decisions, notices = normalise(draft.decisions), normalise(draft.notices)
        except RecursionError:
            raise AuditEventInvalid("the audit event is nested too deeply to record") from None
        body_obj = {
            "event_id": draft.event_id, "seq": seq, "stream": self.stream, "ts": ts, "kind": draft.kind,
            "app_id": draft.app_id, "user_ref": user_ref, "session_id": draft.session_id,
            "persona_id": draft.persona_id, "policy_id": draft.policy_id,
            "policy_version": draft.policy_version, "decisions": decisions,
            "notices": notices, "status": draft.status,
            "latency_ms": normalise(draft.latency_ms), "upstream_model": draft.upstream_model,
            "content_ref": content_ref, "prev_hash": self.head,
        }
        try:
            body = canonical_json(body_obj)
        except (TypeError, ValueError, RecursionError) as exc:   # orjson.JSONEncodeError is a TypeError
            raise AuditEventInvalid(f"the audit event cannot be encoded: {exc}") from None
        if max_bytes is not None and len(body) > max_bytes:
            raise AuditEventInvalid(f"the audit event is {len(body):,} bytes, over the {max_bytes:,} "
                                    "bytes audit.max_event_bytes allows")
        digest = event_hash(body)
        event = AuditEvent(event_id=draft.event_id, stream=self.stream, seq=seq, ts=ts, kind=draft.kind,
                           user_ref=user_ref, session_id=draft.session_id, content_ref=content_ref,
                           prev_hash=self.head, hash=digest, body=body)
        row = EventRow(stream=self.stream, seq=seq, event_id=draft.event_id, ts_us=ts_us, kind=draft.kind,
                       user_ref=user_ref, session_id=draft.session_id, content_ref=content_ref, body=body,
                       hash=digest)
        self.seq, self.head, self.last_us = seq, digest, ts_us
        return event, row


_LIFE_CITES = ["ANTH-LOG-1"]
PHASE_MESSAGE = {"start": "stream_start", "end": "stream_end", "resume": "stream_resume"}


def phase_message(phase: str, detail: dict[str, Any]) -> bytes:
    """The bytes a life-cycle checkpoint signs, from its decision detail."""
    if phase == "start":
        return signed_message("stream_start", stream=detail.get("stream"), known_streams=detail.get("known_streams"))
    return signed_message(PHASE_MESSAGE[phase], stream=detail.get("stream"), seq=detail.get("seq"),
                          hash=detail.get("hash"))


def phase_draft(event_id: str, phase: str, chain: Chain, keys: AuditKeys,
                known_streams: list[str] | None = None) -> EventDraft:
    """A signed start, end or resume of ``chain``'s stream, sealed into the chain like a checkpoint.

    ``known_streams`` (start only) is None when the store could not be read as the stream began (it
    started in the fail-open spool); verify then says it could not check for removed streams there."""
    detail: dict[str, Any] = {"phase": phase, "stream": chain.stream, "seq": chain.seq, "hash": chain.head}
    if phase == "start":
        detail["known_streams"] = known_streams
    detail["key_id"] = keys.key_id
    detail["sig"] = keys.sign(phase_message(phase, detail))
    return EventDraft(event_id=event_id, kind="checkpoint", status=200, fail_mode="open",
                      decisions=[{"rule": f"audit.stream_{phase}", "cites": _LIFE_CITES, "outcome": "signed",
                                  "detail": detail}])


def checkpoint_draft(event_id: str, chain: Chain, keys: AuditKeys) -> EventDraft:
    """A checkpoint over the chain's current head, signed; it is then sealed into the chain itself."""
    sig = keys.sign(signed_message("checkpoint", stream=chain.stream, seq=chain.seq, hash=chain.head))
    detail = {"stream": chain.stream, "seq": chain.seq, "hash": chain.head, "key_id": keys.key_id, "sig": sig}
    return EventDraft(event_id=event_id, kind="checkpoint", status=200, fail_mode="open",
                      decisions=[{"rule": "audit.checkpoint", "cites": ["ANTH-LOG-1"], "outcome": "signed",
                                  "detail": detail}])
