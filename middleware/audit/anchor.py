"""The anchor file: an append-only JSON-lines copy of signed checkpoints, batch heads and purge
anchors, kept away from the database (another disk, a WORM bucket sync, a log shipper).

Someone who can rewrite the database can roll a stream back to an older checkpoint; they cannot
also unwrite this file. ``verify`` checks that every point it records still exists with the same
hash (unless purged), so tail truncation is caught down to the last committed batch.
Lines are small and written with one ``O_APPEND`` write each batch, so several processes may share
one file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from middleware.audit.chain import signed_message
from middleware.audit.keys import AuditKeys


@dataclass(frozen=True, slots=True)
class AnchorLine:
    type: str  # "checkpoint" | "head" | "purge_anchor"
    stream: str
    seq: int  # checkpoint/head: the event's seq; purge_anchor: first kept seq
    hash: str  # checkpoint/head: that event's hash; purge_anchor: the first kept event's prev_hash
    key_id: str
    sig: str
    line_no: int = 0

    def message(self) -> bytes:
        if self.type == "purge_anchor":
            return signed_message("purge_anchor", stream=self.stream, first_seq=self.seq, prev_hash=self.hash)
        return signed_message(self.type, stream=self.stream, seq=self.seq, hash=self.hash)


class AnchorWriter:
    def __init__(self, path: Path, keys: AuditKeys) -> None:
        self.path = path
        self.keys = keys
        path.parent.mkdir(parents=True, exist_ok=True)

    def line(self, kind: str, stream: str, seq: int, hash_: str) -> bytes:
        probe = AnchorLine(kind, stream, seq, hash_, self.keys.key_id, "")
        sig = self.keys.sign(probe.message())
        obj = {"type": kind, "stream": stream, "seq": seq, "hash": hash_, "key_id": self.keys.key_id, "sig": sig}
        return orjson.dumps(obj) + b"\n"

    def write(self, lines: list[bytes]) -> None:
        if not lines:
            return
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, b"".join(lines))
            os.fsync(fd)
        finally:
            os.close(fd)


def read_anchor_file(path: Path) -> Iterator[AnchorLine | str]:
    """Anchor lines, or a string describing an unreadable line."""
    with path.open("rb") as fh:
        for no, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            if not raw.endswith(b"\n"):
                return  # torn final line of an interrupted write
            try:
                obj = orjson.loads(raw)
                yield AnchorLine(obj["type"], obj["stream"], int(obj["seq"]), obj["hash"], obj["key_id"],
                                 obj["sig"], no)
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                yield f"{path}:{no}: not an anchor line"
