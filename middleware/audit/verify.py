"""Verification: recompute every hash, walk every chain, check every signature.

What it proves, per stream: each event's hash is the SHA-256 of its canonical JSON; ``seq`` runs
without gaps from 1 (or from a signed purge anchor); each ``prev_hash`` is the hash before it;
every checkpoint's Ed25519 signature holds over the event it covers; the stream table's head and
latest checkpoint are still present (tail truncation); and, with an anchor file, every checkpoint,
batch head and purge anchor recorded there is still present with the same hash.

Every stream must be registered under a signature: its seq 1 is a signed ``start`` (or it begins
at a signed purge anchor). Nothing may follow a signed ``end`` but a signed ``resume``. A stream that
a signed start listed as existing must still exist (or be covered by a signed purge). Receipts
(``receipt.py``) add points that must still hold, whoever re-signed the log since.

It reports the first bad event (stream, seq, event_id) and why; it keeps going to list more. What it
could not rule out (an unsigned tail, no anchor file, no receipt) goes into ``caveats``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from middleware.audit.anchor import AnchorLine, read_anchor_file
from middleware.audit.chain import phase_message, signed_message
from middleware.audit.events import GENESIS, ts_micros
from middleware.audit.keys import verify_signature
from middleware.audit.store import AuditStore, EventRow, StreamAnchor, StreamInfo

_CHUNK = 5000
_SORT = orjson.OPT_SORT_KEYS


@dataclass(slots=True)
class Problem:
    stream: str
    seq: int | None
    event_id: str | None
    reason: str

    def __str__(self) -> str:
        where = f"stream {self.stream}" + (f" seq {self.seq}" if self.seq is not None else "")
        return f"{where}{f' (event {self.event_id})' if self.event_id else ''}: {self.reason}"


@dataclass(slots=True)
class VerifyResult:
    events: int = 0
    streams: int = 0
    checkpoints: int = 0
    anchors_checked: int = 0
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)
    truncated_problems: bool = False
    caveats: list[str] = field(default_factory=list)
    receipt_points: int = 0
    heads: dict[str, tuple[int, str]] = field(default_factory=dict)  # what was walked: for receipts

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        return self.problems[0] if self.problems else None

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "events": self.events, "streams": self.streams, "checkpoints": self.checkpoints,
                "anchors_checked": self.anchors_checked, "seconds": round(self.seconds, 3),
                "events_per_second": round(self.events / self.seconds) if self.seconds else None,
                "receipt_points_checked": self.receipt_points,
                "first_problem": asdict(self.first) if self.first else None,
                "problems": [asdict(p) for p in self.problems], "more_problems": self.truncated_problems,
                "caveats": list(self.caveats)}


@dataclass(slots=True)
class _StreamState:
    first_seq: int
    first_prev: str
    first_event: str
    last_seq: int
    last_hash: str
    last_event: str
    hashes_wanted: dict[int, str] = field(default_factory=dict)
    covered: int = 0   # the highest seq a valid signature covers (checkpoint, end, resume)
    last_is_checkpoint: bool = False
    ended: int | None = None   # seq of a signed end not (yet) followed by a signed resume
    after_end_reported: bool = False
    blind_start: bool = False   # its signed start lists no streams (it began in the fail-open spool)


class Verifier:
    def __init__(self, public_keys: dict[str, Ed25519PublicKey], anchor_file: Path | None = None,
                 max_problems: int = 50, legacy_before_us: int | None = None) -> None:
        self.keys = public_keys
        # streams begun before this time may lack a signed start (written before starts were signed)
        self.legacy_before_us = legacy_before_us
        self.anchor_file = anchor_file
        self.max_problems = max_problems
        self.result = VerifyResult()
        self._purge_anchors: dict[str, set[tuple[int, str]]] = {}
        self._anchor_points: dict[str, dict[int, list[tuple[str, str]]]] = {}  # seq -> [(hash, where)]
        self._listed: dict[str, str] = {}   # stream named by a signed start -> which start named it
        self._receipt_points = 0

    def add_point(self, stream: str, seq: int, hash_: str, where: str) -> None:
        """A (stream, seq, hash) recorded outside the database that must still hold."""
        self._anchor_points.setdefault(stream, {}).setdefault(seq, []).append((hash_, where))

    def problem(self, stream: str, seq: int | None, event_id: str | None, reason: str) -> None:
        if len(self.result.problems) < self.max_problems:
            self.result.problems.append(Problem(stream, seq, event_id, reason))
        else:
            self.result.truncated_problems = True

    def _sig_ok(self, key_id: str | None, sig: str | None, message: bytes) -> str | None:
        """None if valid, else why not."""
        if not key_id or not sig:
            return "unsigned"
        key = self.keys.get(key_id)
        if key is None:
            return f"signed with unknown key {key_id} (add its public key to audit.trusted_keys)"
        return None if verify_signature(key, sig, message) else "signature does not verify"

    def _add_purge_anchor(self, a: StreamAnchor, where: str) -> None:
        why = self._sig_ok(a.key_id, a.signature, signed_message(
            "purge_anchor", stream=a.stream, first_seq=a.first_seq, prev_hash=a.prev_hash))
        if why:
            self.problem(a.stream, a.first_seq, None, f"forged purge anchor in {where}: {why}")
            return
        self._purge_anchors.setdefault(a.stream, set()).add((a.first_seq, a.prev_hash))

    def load_anchor_file(self) -> None:
        if self.anchor_file is None:
            return
        if not self.anchor_file.is_file():
            self.problem("-", None, None, f"anchor file {self.anchor_file} is missing")
            return
        for line in read_anchor_file(self.anchor_file):
            if isinstance(line, str):
                self.problem("-", None, None, line)
                continue
            where = f"{self.anchor_file.name}:{line.line_no}"
            if line.type == "purge_anchor":
                self._add_purge_anchor(StreamAnchor(line.stream, line.seq, line.hash, line.sig, line.key_id), where)
                continue
            why = self._sig_ok(line.key_id, line.sig, AnchorLine(line.type, line.stream, line.seq, line.hash,
                                                                 line.key_id, line.sig).message())
            if why:
                self.problem(line.stream, line.seq, None, f"anchor file line {where}: {why}")
                continue
            self.add_point(line.stream, line.seq, line.hash, f"anchor file {where}")

    def walk(self, rows: Iterable[EventRow], states: dict[str, _StreamState]) -> None:
        """Check a chunk of rows in (stream, seq) order; ``states`` carries each stream across chunks."""
        sha256 = hashlib.sha256
        dumps, loads = orjson.dumps, orjson.loads
        for row in rows:
            self.result.events += 1
            try:
                ev = loads(row.body)
            except orjson.JSONDecodeError:
                self.problem(row.stream, row.seq, row.event_id, "stored body is not JSON")
                continue
            canonical = dumps(ev, option=_SORT)
            if sha256(canonical).hexdigest() != row.hash:
                self.problem(row.stream, row.seq, row.event_id,
                             "hash mismatch: the event was changed after it was written")
            eid = ev.get("event_id")
            if ev.get("seq") != row.seq or ev.get("stream") != row.stream:
                self.problem(row.stream, row.seq, eid, f"stored at seq {row.seq} but the hashed event says "
                             f"stream {ev.get('stream')} seq {ev.get('seq')}: events moved or reordered")
            elif (eid != row.event_id or ev.get("kind") != row.kind or ev.get("user_ref") != row.user_ref
                  or ev.get("session_id") != row.session_id or ev.get("content_ref") != row.content_ref
                  or ts_micros(ev.get("ts", "1970-01-01T00:00:00Z")) != row.ts_us):
                self.problem(row.stream, row.seq, eid, "index columns differ from the hashed event")
            st = states.get(row.stream)
            prev_hash = ev.get("prev_hash")
            if st is None:
                st = states[row.stream] = _StreamState(row.seq, str(prev_hash), str(eid), row.seq, row.hash,
                                                       str(eid))
                if row.seq == 1 and not (row.kind == "checkpoint" and _detail(ev).get("phase") == "start"):
                    if self.legacy_before_us is not None and row.ts_us < self.legacy_before_us:
                        self.result.caveats.append(
                            f"stream {row.stream} has no signed start: accepted as written before starts were "
                            "signed (--legacy-before); a forged stream dated that early would pass too")
                    else:
                        self.problem(row.stream, 1, eid, "no signed stream start: this stream was not created by "
                                     "a Candor writer holding the signing key (a forged or unregistered stream)")
            else:
                if st.ended is not None and not st.after_end_reported and not (
                        row.kind == "checkpoint" and _detail(ev).get("phase") == "resume"):
                    st.after_end_reported = True
                    self.problem(row.stream, row.seq, eid, f"event after the stream's signed end (seq {st.ended}):"
                                 " appended after its writer closed it")
                if row.seq != st.last_seq + 1:
                    missing = f"seq {st.last_seq + 1}" + (f"..{row.seq - 1}" if row.seq - 1 > st.last_seq + 1 else "")
                    self.problem(row.stream, row.seq, eid, f"{missing} missing after event {st.last_event}: "
                                 "events were deleted")
                elif prev_hash != st.last_hash:
                    self.problem(row.stream, row.seq, eid, f"prev_hash does not match the hash of seq {st.last_seq}: "
                                 "an event before it was changed, removed or reordered")
                st.last_seq, st.last_hash, st.last_event = row.seq, row.hash, str(eid)
            wanted = self._anchor_points.get(row.stream)
            if wanted and row.seq in wanted:
                for want, where in wanted[row.seq]:
                    if want != row.hash:
                        self.problem(row.stream, row.seq, eid, f"hash differs from the one recorded in {where}: "
                                     "the log was rewritten since")
                        break
            st.last_is_checkpoint = row.kind == "checkpoint"
            if row.kind == "checkpoint":
                self._checkpoint(row, ev, st)
            elif row.kind == "purge":
                for a in _detail(ev).get("anchors", []):
                    self._add_purge_anchor(StreamAnchor(a["stream"], a["first_seq"], a["prev_hash"], a.get("sig", ""),
                                                        a.get("key_id", "")), f"purge event {eid}")

    def _checkpoint(self, row: EventRow, ev: dict[str, Any], st: _StreamState) -> None:
        self.result.checkpoints += 1
        d = _detail(ev)
        phase = d.get("phase")
        if phase == "start":
            if row.seq != 1 or d.get("stream") != row.stream or ev.get("prev_hash") != GENESIS:
                self.problem(row.stream, row.seq, row.event_id, "stream start record out of place (forged or moved)")
                return
            why = self._sig_ok(d.get("key_id"), d.get("sig"), phase_message("start", d))
            if why:
                self.problem(row.stream, row.seq, row.event_id, f"forged stream start: {why}")
                return
            st.covered = 1
            known = d.get("known_streams")
            if isinstance(known, list):
                for name in known:
                    self._listed.setdefault(str(name), f"the signed start of stream {row.stream} (seq 1)")
            else:
                st.blind_start = True
            return
        if d.get("stream") != row.stream or d.get("seq") != row.seq - 1 or d.get("hash") != ev.get("prev_hash"):
            self.problem(row.stream, row.seq, row.event_id,
                         "checkpoint does not cover the event before it (forged or moved checkpoint)")
            return
        if phase in ("end", "resume"):
            why = self._sig_ok(d.get("key_id"), d.get("sig"), phase_message(str(phase), d))
        else:
            why = self._sig_ok(d.get("key_id"), d.get("sig"), signed_message(
                "checkpoint", stream=row.stream, seq=d["seq"], hash=d["hash"]))
        if why:
            self.problem(row.stream, row.seq, row.event_id, f"forged {phase or 'checkpoint'}: {why}")
            return
        st.covered = max(st.covered, row.seq - 1)
        if phase == "end":
            st.ended = row.seq
        elif phase == "resume":
            st.ended = None

    def finish(self, states: dict[str, _StreamState], infos: list[StreamInfo]) -> None:
        table = {i.stream: i for i in infos}
        for info_ in infos:
            if info_.anchor is not None:
                self._add_purge_anchor(info_.anchor, "stream table")
        for name in sorted(set(states) | set(table) | set(self._anchor_points) | set(self._listed)):
            st, info = states.get(name), table.get(name)
            anchors = self._purge_anchors.get(name, set())
            start = max((a[0] for a in anchors), default=1)
            if st is None:
                if info is not None and (info.head_seq + 1, info.head_hash) not in anchors:
                    self.problem(name, None, None, f"every event of this stream is missing (head was seq "
                                 f"{info.head_seq}) and no signed purge covers that")
                elif info is None and name in self._listed and not anchors:
                    self.problem(name, None, None, f"stream removed: {self._listed[name]} lists it, but none of "
                                 "its events remain, it is gone from the stream table, and no signed purge "
                                 "covers that")
                self._check_points(name, None, start)
                continue
            self.result.heads[name] = (st.last_seq, st.last_hash)
            tail_from = st.covered + 1
            tail_to = st.last_seq - 1 if st.last_is_checkpoint else st.last_seq
            if st.ended is None and tail_to >= max(tail_from, st.first_seq):
                self.result.caveats.append(
                    f"stream {name} seq {max(tail_from, st.first_seq)}..{tail_to}: after its last signed "
                    "checkpoint and without a signed end (its writer is live, or crashed): no signature covers "
                    "these events yet; compare them with the anchor file, a receipt or the witness")
            if st.blind_start:
                self.result.caveats.append(f"stream {name} began while the store was unreachable: its signed "
                                           "start lists no earlier streams")
            if not ((st.first_seq == 1 and st.first_prev == GENESIS) or (st.first_seq, st.first_prev) in anchors):
                self.problem(name, st.first_seq, st.first_event, f"stream starts at seq {st.first_seq} "
                             "without a signed purge anchor: events before it were deleted")
            if info is None:
                self.problem(name, st.last_seq, st.last_event, "stream missing from the stream table")
            else:
                self._check_head(name, st, info, start)
            self._check_points(name, st, start)
        self.result.streams = len(states)

    def _check_head(self, name: str, st: _StreamState, info: StreamInfo, start: int) -> None:
        if st.last_seq < info.head_seq:
            self.problem(name, st.last_seq, st.last_event, f"truncated tail: the stream head was seq {info.head_seq}"
                         f" but the log ends at seq {st.last_seq}")
        elif st.last_seq == info.head_seq and st.last_hash != info.head_hash:
            self.problem(name, st.last_seq, st.last_event, "last event differs from the recorded stream head")
        if info.checkpoint_seq is not None and info.checkpoint_seq >= start:
            why = self._sig_ok(info.checkpoint_key_id, info.checkpoint_sig, signed_message(
                "checkpoint", stream=name, seq=info.checkpoint_seq, hash=info.checkpoint_hash))
            if why == "signature does not verify":   # the newest one may be the stream's signed end
                why = self._sig_ok(info.checkpoint_key_id, info.checkpoint_sig, signed_message(
                    "stream_end", stream=name, seq=info.checkpoint_seq, hash=info.checkpoint_hash))
            if why:
                self.problem(name, info.checkpoint_seq, None, f"stream table checkpoint: {why}")
            elif st.last_seq < info.checkpoint_seq + 1:
                self.problem(name, st.last_seq, st.last_event, f"truncated tail: a signed checkpoint covers seq "
                             f"{info.checkpoint_seq} but the log ends at seq {st.last_seq}")
            else:
                st.hashes_wanted[info.checkpoint_seq] = info.checkpoint_hash or ""

    def _check_points(self, name: str, st: _StreamState | None, start: int) -> None:
        for seq, recorded in sorted(self._anchor_points.get(name, {}).items()):
            for hash_, where in recorded:
                if where.startswith("receipt"):
                    self.result.receipt_points += 1
                else:
                    self.result.anchors_checked += 1
                if seq < start and where.startswith("receipt"):
                    self.result.caveats.append(f"stream {name} seq {seq} of the {where} lies in a purged range "
                                               "and could not be compared")
                if seq >= start and (st is None or seq > st.last_seq):
                    last = f"seq {st.last_seq}" if st else "no events"
                    self.problem(name, st.last_seq if st else seq, st.last_event if st else None,
                                 f"truncated tail or removed stream: {where} records seq {seq} ({hash_[:12]}...) "
                                 f"but the log has {last}")
                    return


def _detail(ev: dict[str, Any]) -> dict[str, Any]:
    decisions = ev.get("decisions") or [{}]
    detail = decisions[0].get("detail") if isinstance(decisions[0], dict) else None
    return detail if isinstance(detail, dict) else {}


def outside_evidence_caveats(*, anchor_file: Path | None, receipt: bool, witness_url: str | None,
                             key_beside_db: bool) -> list[str]:
    """What a clean result cannot rule out, given the evidence kept outside the database."""
    out = []
    if key_beside_db:
        out.append("the signing key is readable where the database is (audit.key_dir beside the store): "
                   "whoever can write the database may also re-sign a rewritten log")
    if anchor_file is None:
        out.append("no anchor file: a rollback of the database and its stream table to an earlier signed "
                   "state, or a rewrite re-signed with the host's key, cannot be ruled out from this host alone")
    if not receipt:
        out.append("no receipt compared (--receipt FILE): a rewrite re-signed with the host's key since an "
                   "auditor's last receipt cannot be ruled out")
    if witness_url is None:
        out.append("no witness (audit.witness_url): no copy of the signed checkpoints is held outside the "
                   "operator's control")
    else:
        out.append(f"signed checkpoints are delivered to the witness at {witness_url}: compare them there "
                   "(verify does not contact it)")
    return out


async def verify_store(store: AuditStore, public_keys: dict[str, Ed25519PublicKey],
                       anchor_file: Path | None = None, max_problems: int = 50,
                       points: Iterable[tuple[str, int, str, str]] = (),
                       legacy_before_us: int | None = None) -> VerifyResult:
    """Verify everything in ``store``; ``points`` are (stream, seq, hash, where) recorded elsewhere
    (a receipt) that must still hold."""
    started = time.perf_counter()
    v = Verifier(public_keys, anchor_file, max_problems, legacy_before_us)
    v.load_anchor_file()
    for stream, seq, hash_, where in points:
        v.add_point(stream, seq, hash_, where)
    infos = await store.streams()
    states: dict[str, _StreamState] = {}
    after: tuple[str, int] | None = None
    while True:
        rows = await store.scan(after, _CHUNK)
        if not rows:
            break
        v.walk(rows, states)
        after = (rows[-1].stream, rows[-1].seq)
    v.finish(states, infos)
    # the stream-table checkpoints name hashes that must match what was walked
    for name, st in states.items():
        for seq, want in st.hashes_wanted.items():
            if seq < st.first_seq:
                continue
            rows = await store.scan((name, seq - 1), 1)
            if not rows or rows[0].stream != name or rows[0].seq != seq or rows[0].hash != want:
                v.problem(name, seq, rows[0].event_id if rows else None,
                          "event differs from the one the signed checkpoint in the stream table covers")
    v.result.seconds = time.perf_counter() - started
    return v.result
