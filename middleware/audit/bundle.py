"""Evidence bundles: the whole log in one file an auditor verifies offline with only the public key.

Format (JSON lines, UTF-8):

1. header ``{"type": "candor_audit_bundle", "version": 1, "created", "key_id", "streams": [...]}`` with
   the stream table (heads, latest checkpoints, purge anchors);
2. one line per event, in (stream, seq) order: ``{"stream", "seq", "event_id", "ts_us", "kind",
   "user_ref", "session_id", "content_ref", "body", "hash"}`` (``body`` is the hashed canonical JSON);
3. trailer ``{"type": "bundle_end", "events": N, "sha256": H, "key_id", "sig"}``: H is the SHA-256 of
   every byte before the trailer, signed as ``{"events": N, "sha256": H, "type": "bundle"}``.

``verify --bundle`` checks the trailer (any changed byte breaks it), then runs the same verification
as on a live store. Message content is not included (it is encrypted per user and erasable).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from middleware.audit.chain import signed_message
from middleware.audit.events import format_ts
from middleware.audit.keys import AuditKeys, verify_signature
from middleware.audit.store import AuditStore, EventRow, StreamAnchor, StreamInfo
from middleware.audit.verify import VerifyResult, verify_store

BUNDLE_TYPE = "candor_audit_bundle"
_CHUNK = 5000


class BundleError(Exception):
    """The bundle cannot be read at all (missing file, no header)."""


def _info_dict(i: StreamInfo) -> dict[str, Any]:
    a = i.anchor
    return {"stream": i.stream, "head_seq": i.head_seq, "head_hash": i.head_hash,
            "checkpoint_seq": i.checkpoint_seq, "checkpoint_hash": i.checkpoint_hash,
            "checkpoint_sig": i.checkpoint_sig, "checkpoint_key_id": i.checkpoint_key_id,
            "anchor": None if a is None else {"first_seq": a.first_seq, "prev_hash": a.prev_hash,
                                              "sig": a.signature, "key_id": a.key_id}}


def _info(d: dict[str, Any]) -> StreamInfo:
    a = d.get("anchor")
    anchor = None if not a else StreamAnchor(d["stream"], a["first_seq"], a["prev_hash"], a["sig"], a["key_id"])
    return StreamInfo(d["stream"], d["head_seq"], d["head_hash"], d.get("checkpoint_seq"), d.get("checkpoint_hash"),
                      d.get("checkpoint_sig"), d.get("checkpoint_key_id"), anchor)


async def write_bundle(store: AuditStore, keys: AuditKeys, out: IO[bytes]) -> int:
    """Write the whole log to ``out``; returns how many events."""
    digest = hashlib.sha256()

    def put(obj: dict[str, Any]) -> None:
        line = orjson.dumps(obj) + b"\n"
        digest.update(line)
        out.write(line)

    infos = await store.streams()
    put({"type": BUNDLE_TYPE, "version": 1, "created": format_ts(time.time()), "key_id": keys.key_id,
         "streams": [_info_dict(i) for i in infos]})
    count = 0
    after: tuple[str, int] | None = None
    while rows := await store.scan(after, _CHUNK):
        for r in rows:
            put({"stream": r.stream, "seq": r.seq, "event_id": r.event_id, "ts_us": r.ts_us, "kind": r.kind,
                 "user_ref": r.user_ref, "session_id": r.session_id, "content_ref": r.content_ref,
                 "body": r.body.decode(), "hash": r.hash})
        count += len(rows)
        after = (rows[-1].stream, rows[-1].seq)
    sha = digest.hexdigest()
    sig = keys.sign(signed_message("bundle", sha256=sha, events=count))
    out.write(orjson.dumps({"type": "bundle_end", "events": count, "sha256": sha, "key_id": keys.key_id,
                            "sig": sig}) + b"\n")
    return count


class BundleStore:
    """The read side of ``AuditStore`` over a bundle file (what ``verify_store`` needs), streamed
    from disk so a large bundle is not held in memory."""

    def __init__(self, path: Path, infos: list[StreamInfo], damaged: list[int]) -> None:
        self.url = f"bundle:{path}"
        self.path = path
        self._infos = infos
        self.damaged = damaged   # line numbers that are not valid event lines

    async def streams(self) -> list[StreamInfo]:
        return self._infos

    def _rows(self) -> Iterator[EventRow]:
        with self.path.open("rb") as fh:
            next(fh, None)
            for raw in fh:
                try:
                    o = orjson.loads(raw)
                    if "type" in o:
                        continue
                    yield EventRow(o["stream"], o["seq"], o["event_id"], o["ts_us"], o["kind"], o["user_ref"],
                                   o["session_id"], o["content_ref"], o["body"].encode(), o["hash"])
                except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
                    continue

    async def scan(self, after: tuple[str, int] | None, limit: int) -> list[EventRow]:
        out: list[EventRow] = []
        for row in self._rows():
            if after is not None and (row.stream, row.seq) <= after:
                continue
            out.append(row)
            if len(out) >= limit:
                break
        return out


def open_bundle(path: Path, public_keys: dict[str, Ed25519PublicKey]) -> tuple[BundleStore, list[str]]:
    """The bundle as a store, and what is wrong with its envelope (trailer, damaged lines)."""
    if not path.is_file():
        raise BundleError(f"no bundle at {path}")
    problems: list[str] = []
    digest = hashlib.sha256()
    header: dict[str, Any] | None = None
    trailer: dict[str, Any] | None = None
    damaged: list[int] = []
    with path.open("rb") as fh:
        for no, raw in enumerate(fh, 1):
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError:
                obj = None
            if isinstance(obj, dict) and obj.get("type") == "bundle_end":
                trailer = obj
                continue
            if trailer is not None:
                problems.append(f"bundle line {no}: data after the signed trailer")
            digest.update(raw)
            if no == 1:
                header = obj if isinstance(obj, dict) and obj.get("type") == BUNDLE_TYPE else None
            elif not isinstance(obj, dict) or not isinstance(obj.get("body"), str):
                damaged.append(no)
    if header is None:
        raise BundleError(f"{path} is not a Candor audit bundle (no header line)")
    if trailer is None:
        problems.append("the bundle has no signed trailer: it was cut short or its end was changed")
    else:
        if trailer.get("sha256") != digest.hexdigest():
            problems.append("the bundle's bytes differ from what its trailer signs: the file was changed")
        key = public_keys.get(str(trailer.get("key_id")))
        if key is None:
            problems.append(f"the bundle is signed with key {trailer.get('key_id')}, not the public key given")
        elif not verify_signature(key, str(trailer.get("sig")), signed_message(
                "bundle", sha256=trailer.get("sha256"), events=trailer.get("events"))):
            problems.append("the bundle trailer's signature does not verify")
    problems += [f"bundle line {no} is damaged (not an event line)" for no in damaged[:20]]
    try:
        infos = [_info(d) for d in header.get("streams") or []]
    except (KeyError, TypeError):
        problems.append("the bundle's stream table is damaged")
        infos = []
    return BundleStore(path, infos, damaged), problems


async def verify_bundle(path: Path, public_keys: dict[str, Ed25519PublicKey],
                        points: list[tuple[str, int, str, str]] | None = None) -> VerifyResult:
    store, envelope = open_bundle(path, public_keys)
    result = await verify_store(store, public_keys, None, points=points or ())  # type: ignore[arg-type]
    for why in reversed(envelope):
        result.problems.insert(0, _envelope_problem(why))
    return result


def _envelope_problem(why: str) -> Any:
    from middleware.audit.verify import Problem

    return Problem("-", None, None, why)
