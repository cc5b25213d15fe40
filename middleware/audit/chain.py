"""Sealing: turning drafts into chained events, and the signed statements (checkpoints, anchors).

Signed messages are canonical JSON too, so an auditor can check them with any Ed25519 library:
checkpoint ``{"hash": H, "seq": N, "stream": S, "type": "checkpoint"}`` where (N, H) is the last event
before the checkpoint; purge anchor ``{"first_seq": N, "prev_hash": H, "stream": S, "type": "purge_anchor"}``;
anchor-file head ``{"hash": H, "seq": N, "stream": S, "type": "head"}``.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from .events import GENESIS, AuditEvent, EventDraft, canonical_json, event_hash, format_ts_us, normalise
from .keys import AuditKeys
from .store import EventRow


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
             content_ref: str | None) -> tuple[AuditEvent, EventRow]:
        # time never runs backwards within a stream, so time order and chain order agree
        ts_us = max(now_us, self.last_us)
        ts = format_ts_us(ts_us)
        seq = self.seq + 1
        body_obj = {
            "event_id": draft.event_id, "seq": seq, "stream": self.stream, "ts": ts, "kind": draft.kind,
            "app_id": draft.app_id, "user_ref": user_ref, "session_id": draft.session_id,
            "persona_id": draft.persona_id, "policy_id": draft.policy_id,
            "policy_version": draft.policy_version, "decisions": normalise(draft.decisions),
            "notices": normalise(draft.notices), "status": draft.status,
            "latency_ms": normalise(draft.latency_ms), "upstream_model": draft.upstream_model,
            "content_ref": content_ref, "prev_hash": self.head,
        }
        body = canonical_json(body_obj)
        digest = event_hash(body)
        event = AuditEvent(event_id=draft.event_id, stream=self.stream, seq=seq, ts=ts, kind=draft.kind,
                           user_ref=user_ref, session_id=draft.session_id, content_ref=content_ref,
                           prev_hash=self.head, hash=digest, body=body)
        row = EventRow(stream=self.stream, seq=seq, event_id=draft.event_id, ts_us=ts_us, kind=draft.kind,
                       user_ref=user_ref, session_id=draft.session_id, content_ref=content_ref, body=body,
                       hash=digest)
        self.seq, self.head, self.last_us = seq, digest, ts_us
        return event, row


def checkpoint_draft(event_id: str, chain: Chain, keys: AuditKeys) -> EventDraft:
    """A checkpoint over the chain's current head, signed; it is then sealed into the chain itself."""
    sig = keys.sign(signed_message("checkpoint", stream=chain.stream, seq=chain.seq, hash=chain.head))
    detail = {"stream": chain.stream, "seq": chain.seq, "hash": chain.head, "key_id": keys.key_id, "sig": sig}
    return EventDraft(event_id=event_id, kind="checkpoint", status=200, fail_mode="open",
                      decisions=[{"rule": "audit.checkpoint", "cites": ["ANTH-LOG-1"], "outcome": "signed",
                                  "detail": detail}])
