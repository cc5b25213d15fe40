"""The fail-open spool: sealed events written to local disk (append + fsync) while the store is
down, replayed in order when it returns.

One file per writer stream (``<stream>.jsonl``), held under an exclusive ``flock`` by its writer,
so a process starting up replays only the spools of writers that are gone, never a live one's.
A batch is one ``write`` and one ``fsync``; a torn last line (power cut mid-write) is ignored
because its batch was never acknowledged to any caller.
"""

from __future__ import annotations

import base64
import fcntl
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from middleware.audit.store import ContentRow, EventRow, KeyRow


@dataclass(slots=True)
class SpoolEntry:
    event: EventRow
    content: ContentRow | None = None
    key: KeyRow | None = None


def _b(data: bytes) -> str:
    return base64.b64encode(data).decode()


def encode(entry: SpoolEntry) -> bytes:
    e = entry.event
    obj: dict[str, object] = {
        "event": {"stream": e.stream, "seq": e.seq, "event_id": e.event_id, "ts_us": e.ts_us, "kind": e.kind,
                  "user_ref": e.user_ref, "session_id": e.session_id, "content_ref": e.content_ref,
                  "body": e.body.decode(), "hash": e.hash},
    }
    if entry.content is not None:
        c = entry.content
        obj["content"] = {"content_ref": c.content_ref, "user_ref": c.user_ref, "key_id": c.key_id,
                          "ts_us": c.ts_us, "nonce": _b(c.nonce), "ciphertext": _b(c.ciphertext)}
    if entry.key is not None:
        obj["key"] = {"key_id": entry.key.key_id, "user_ref": entry.key.user_ref, "wrapped": _b(entry.key.wrapped)}
    return orjson.dumps(obj) + b"\n"


def decode(line: bytes) -> SpoolEntry:
    obj = orjson.loads(line)
    ev = obj["event"]
    event = EventRow(stream=ev["stream"], seq=ev["seq"], event_id=ev["event_id"], ts_us=ev["ts_us"],
                     kind=ev["kind"], user_ref=ev["user_ref"], session_id=ev["session_id"],
                     content_ref=ev["content_ref"], body=ev["body"].encode(), hash=ev["hash"])
    content = key = None
    if (c := obj.get("content")) is not None:
        content = ContentRow(content_ref=c["content_ref"], user_ref=c["user_ref"], key_id=c["key_id"],
                             ts_us=c["ts_us"], nonce=base64.b64decode(c["nonce"]),
                             ciphertext=base64.b64decode(c["ciphertext"]))
    if (k := obj.get("key")) is not None:
        key = KeyRow(key_id=k["key_id"], user_ref=k["user_ref"], wrapped=base64.b64decode(k["wrapped"]))
    return SpoolEntry(event, content, key)


def read_entries(path: Path) -> Iterator[SpoolEntry]:
    with path.open("rb") as fh:
        for line in fh:
            if not line.endswith(b"\n"):
                break  # torn tail: never acknowledged
            if line.strip():
                yield decode(line)


class Spool:
    """The spool file of one stream, locked for as long as the writer lives."""

    def __init__(self, directory: Path, stream: str) -> None:
        self.directory = directory
        self.path = directory / f"{stream}.jsonl"
        directory.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self.pending = os.fstat(self._fd).st_size > 0

    def write(self, entries: list[SpoolEntry]) -> None:
        """Durable once this returns."""
        os.write(self._fd, b"".join(encode(e) for e in entries))
        os.fsync(self._fd)
        self.pending = True

    def entries(self) -> Iterator[SpoolEntry]:
        return read_entries(self.path)

    def clear(self) -> None:
        os.ftruncate(self._fd, 0)
        os.fsync(self._fd)
        self.pending = False

    def close(self) -> None:
        empty = os.fstat(self._fd).st_size == 0
        if empty:
            self.path.unlink(missing_ok=True)
        os.close(self._fd)  # releases the lock


def orphans(directory: Path, own: Path | None) -> Iterator[tuple[Path, int]]:
    """Spool files of writers that are gone: yields (path, locked fd); close the fd when done."""
    if not directory.is_dir():
        return
    for path in sorted(directory.glob("*.jsonl")):
        if own is not None and path == own:
            continue
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)  # a live writer owns it
            continue
        yield path, fd
