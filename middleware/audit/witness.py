"""The witness: every signed checkpoint (and stream start, end, resume) also goes to an HTTP endpoint
the operator does not control (``audit.witness_url``), durably and with retries.

Why: an insider holding the host and its signing key can rewrite the log and re-sign every
checkpoint. They cannot recall what a witness already holds: the first rewritten checkpoint
disagrees with the witness's copy (compare Certificate Transparency monitors and Sigstore's
witnesses, which co-sign or keep log checkpoints for the same reason).

Durable: statements are appended (one ``write`` + ``fsync``) to a local outbox file per writer
stream before delivery is attempted, independent of the database, so a witness is fed even while the
audit store is down (spooled checkpoints are signed too). A byte offset beside the file (``.sent``,
replaced atomically) records what was delivered. Delivery is at least once: a witness keys statements
by (stream, seq, type). Retries back off exponentially with jitter (the alerts' ``RetryPolicy``), and
a process picks up the outbox files of writers that are gone, like the fail-open spool.

Each POST carries ``{"statements": [...]}``; every statement holds ``message`` (the exact canonical
JSON the Ed25519 signature ``sig`` covers), ``key_id`` and the fields of the message, so a witness
can check it with nothing but the public key.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import structlog

from middleware.alerts.retry import RetryPolicy
from middleware.audit.chain import phase_message, signed_message
from middleware.audit.spool import orphans
from middleware.audit.store import EventRow

log = structlog.get_logger("candor.audit")
_BATCH = 200


def statements(rows: list[EventRow]) -> list[dict[str, Any]]:
    """The signed statements among ``rows`` (checkpoint events), ready to witness."""
    out = []
    for row in rows:
        if row.kind != "checkpoint":
            continue
        d = orjson.loads(row.body)["decisions"][0]["detail"]
        phase = d.get("phase")
        message = phase_message(phase, d) if phase else signed_message(
            "checkpoint", stream=d["stream"], seq=d["seq"], hash=d["hash"])
        out.append({"type": f"stream_{phase}" if phase else "checkpoint", "stream": row.stream,
                    "seq": d.get("seq"), "hash": d.get("hash"), "event_seq": row.seq, "key_id": d["key_id"],
                    "sig": d["sig"], "message": message.decode()})
    return out


class _Outbox:
    """One outbox file and its delivered offset."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd = fd
        self.sent_path = path.with_suffix(".sent")

    def offset(self) -> int:
        try:
            return int(self.sent_path.read_text() or 0)
        except (OSError, ValueError):
            return 0

    def size(self) -> int:
        return os.fstat(self.fd).st_size

    def pending(self, limit: int) -> tuple[list[dict[str, Any]], int]:
        """Up to ``limit`` undelivered statements and the offset after them (whole lines only)."""
        start = self.offset()
        with self.path.open("rb") as fh:
            fh.seek(start)
            items, pos = [], start
            for line in fh:
                if not line.endswith(b"\n"):
                    break   # torn tail of an interrupted write: never acknowledged
                pos += len(line)
                with contextlib.suppress(orjson.JSONDecodeError):
                    items.append(orjson.loads(line))
                if len(items) >= limit:
                    break
        return items, pos

    def mark(self, pos: int) -> None:
        tmp = self.sent_path.with_suffix(".sent.tmp")
        tmp.write_text(str(pos))
        os.replace(tmp, self.sent_path)


class Witness:
    def __init__(self, url: str, directory: Path, stream: str, *, token: str | None = None,
                 retry: RetryPolicy | None = None, timeout: float = 5.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.url = url
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.retry = retry or RetryPolicy(initial=1.0, maximum=300.0)
        self._headers = {"content-type": "application/json"}
        if token:
            self._headers["authorization"] = f"Bearer {token}"
        self._client = httpx.AsyncClient(timeout=timeout, transport=transport)
        self._own = self._open(stream)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.failures = 0
        self.delivered = 0
        self._stopping = False

    def _open(self, stream: str) -> _Outbox:
        path = self.directory / f"{stream}.jsonl"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return _Outbox(path, fd)

    def switch(self, stream: str) -> None:
        """The log moved to a new stream: new statements go to its own file (the old one is delivered
        to the end as an orphan once released)."""
        old, self._own = self._own, self._open(stream)
        os.close(old.fd)

    def add(self, items: list[dict[str, Any]]) -> None:
        """Durable once this returns (call it off the event loop: it fsyncs)."""
        if not items:
            return
        os.write(self._own.fd, b"".join(orjson.dumps(i) + b"\n" for i in items))
        os.fsync(self._own.fd)

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="candor-audit-witness")

    async def close(self, drain_timeout: float = 2.0) -> None:
        """Stop after one last delivery round (bounded by ``drain_timeout``): what is left stays in the
        outbox for the next process. A delivery is not cut in the middle when it can finish in time, so
        a witness rarely sees a statement twice."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                async with asyncio.timeout(drain_timeout):
                    await asyncio.shield(self._task)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(BaseException):
                    await self._task
        await self._client.aclose()
        os.close(self._own.fd)

    def _outboxes(self) -> Iterator[tuple[_Outbox, bool]]:
        """Own outbox, then those of writers that are gone (locked while delivered)."""
        yield self._own, False
        for path, fd in orphans(self.directory, self._own.path):   # the spool's own scan for dead writers' files
            yield _Outbox(path, fd), True

    async def deliver_all(self) -> bool:
        """Deliver everything pending; False when the witness refused or could not be reached."""
        for box, orphan in self._outboxes():
            try:
                while True:
                    items, pos = await asyncio.to_thread(box.pending, _BATCH)
                    if not items:
                        if orphan and box.offset() >= box.size():
                            box.path.unlink(missing_ok=True)
                            box.sent_path.unlink(missing_ok=True)
                        break
                    resp = await self._client.post(self.url, content=orjson.dumps({"statements": items}),
                                                   headers=self._headers)
                    if not 200 <= resp.status_code < 300:
                        raise RuntimeError(f"witness answered HTTP {resp.status_code}")
                    await asyncio.to_thread(box.mark, pos)
                    self.delivered += len(items)
            except Exception as exc:
                log.warning("audit_witness_delivery_failed", url=self.url, error=repr(exc), failures=self.failures + 1)
                return False
            finally:
                if orphan:
                    os.close(box.fd)
        return True

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            if await self.deliver_all():
                self.failures = 0
                await self._pause(30.0, wake_early=True)   # new statements, or a look for orphans now and then
            else:
                self.failures += 1
                await self._pause(self.retry.delay(self.failures), wake_early=False)   # keep to the backoff
        await self.deliver_all()   # closing: one last round

    async def _pause(self, seconds: float, *, wake_early: bool) -> None:
        """Wait ``seconds``; a wake ends it early only when ``wake_early`` (closing always does).
        (asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation.)"""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not self._stopping:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._wake.wait()
            if wake_early:
                return
            self._wake.clear()
