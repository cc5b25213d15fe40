"""``AuditLog``: the writer the request pipeline appends to.

One background task owns the chain and the store: callers enqueue drafts and await a future; the
task takes everything queued (group commit: concurrent appends share one transaction and one
fsync), seals the events into the chain, encrypts content, commits, and only then resolves the
futures. When the store fails, ``fail_mode="closed"`` drafts raise ``AuditUnavailable`` and
``"open"`` drafts are sealed into a local spool (append + fsync) that is replayed, in order, when
the store returns (checked every ``retry_interval``) and at start-up.

Streams: every process starts a new stream (``hostname-pid-random``), so replicas and restarts never
share a head. ``AuditLog.open(cfg, stream="name")`` instead continues that stream from its stored
head (after replaying its spool). After a failed commit the log moves to a fresh stream, because a
failed commit may have landed anyway and re-using its sequence numbers could fork the chain.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import structlog

from middleware.audit.anchor import AnchorWriter
from middleware.audit.chain import Chain, checkpoint_draft, new_stream_id, phase_draft
from middleware.audit.content import new_data_key, seal_content_bytes, unwrap
from middleware.audit.events import AuditEvent, AuditEventInvalid, AuditUnavailable, EventDraft, new_event_id
from middleware.audit.keys import AuditKeys, store_dir
from middleware.audit.spool import Spool, SpoolEntry, orphans, read_entries
from middleware.audit.store import AuditStore, ContentRow, EventRow, KeyRow, checkpoints_in
from middleware.audit.witness import Witness, statements

if TYPE_CHECKING:
    from middleware.config.deployment import CandorConfig

log = structlog.get_logger("candor.audit")
_REPLAY_CHUNK = 500
_DEK_CACHE_TTL = 5.0
_DEK_CACHE_MAX = 10_000
_KNOWN_STREAMS_MAX = 5000   # names a stream's signed start lists (newest first by name order)
_ID_MAX = 1024   # characters of an indexed id (session, persona, app, policy): beyond is an attack


@dataclass
class LogSettings:
    spool_dir: Path
    anchor_file: Path | None = None
    checkpoint_every: int = 1000
    checkpoint_interval: float = 60.0
    batch_max: int = 1000
    timeout: float = 5.0
    retry_interval: float = 1.0
    witness_url: str | None = None   # signed checkpoints are also delivered there (witness.py)
    witness_token: str | None = None
    witness_dir: Path | None = None   # the witness outbox (default: spool_dir/../witness)
    max_event_bytes: int = 65_536   # canonical JSON of one event
    max_content_bytes: int = 4_194_304   # one event's message content, before encryption

    @classmethod
    def from_config(cls, cfg: CandorConfig) -> LogSettings:
        a = cfg.audit
        spool = cfg.resolve_path(a.spool_dir) if a.spool_dir else store_dir(cfg) / "spool"
        return cls(
            spool_dir=spool, witness_url=a.witness_url,
            witness_token=os.environ.get(a.witness_secret_env) or None, witness_dir=spool.parent / "witness",
            anchor_file=cfg.resolve_path(a.anchor_file) if a.anchor_file else None,
            checkpoint_every=a.checkpoint_every, checkpoint_interval=a.checkpoint_interval,
            batch_max=a.batch_max, timeout=a.timeout, retry_interval=a.retry_interval,
            max_event_bytes=a.max_event_bytes,
            max_content_bytes=a.max_content_bytes)


@dataclass(slots=True)
class _Pending:
    draft: EventDraft
    future: asyncio.Future[AuditEvent]


@dataclass(slots=True)
class _Sealed:
    pending: _Pending | None  # None: a checkpoint the log wrote itself
    event: AuditEvent
    row: EventRow
    owner: str | None = None  # whose data key encrypts the content
    content: bytes | None = None  # the content's JSON, encoded before sealing so it cannot fail later


@dataclass
class _SpoolKeys:
    """Data keys made while the store is down; each goes into the spool with its first content."""

    keys: dict[str, tuple[KeyRow, bytes, bool]] = field(default_factory=dict)


_CLOSE = object()


def _now_us() -> int:
    return time.time_ns() // 1000


class AuditLog:
    def __init__(self, store: AuditStore, keys: AuditKeys, settings: LogSettings) -> None:
        self.store = store
        self.keys = keys
        self.settings = settings
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._healthy = False
        self._store_opened = False
        self._closed = False
        self._next_retry = 0.0
        self._since_cp = 0
        self._cp_time = time.monotonic()
        self._spool_keys = _SpoolKeys()
        # unwrapped data keys, briefly: saves a store round trip per event for an active user. Kept short
        # because another replica may erase the user; this one forgets at once (forget_spool_key).
        self._deks: dict[str, tuple[float, str, bytes]] = {}
        self.anchor = AnchorWriter(settings.anchor_file, keys) if settings.anchor_file else None
        self.witness: Witness | None = None
        self._chain = Chain("")
        self._resume = False   # continuing a named stream: the next batch starts with a signed resume
        self._known_streams: list[str] | None = None
        self._spool: Spool
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    @classmethod
    async def open(cls, cfg: CandorConfig, *, stream: str | None = None) -> AuditLog:
        """The log for a deployment, through the installed composition root (``adapters/root.py``)."""
        from middleware.composition import current

        return await current().audit_log(cfg, stream=stream)

    @classmethod
    async def start(cls, store: AuditStore, keys: AuditKeys, settings: LogSettings, *,
                    stream: str | None = None) -> AuditLog:
        """Like ``open`` with the parts given (tests, custom stores). Never fails because the store
        is down: the log starts unhealthy and keeps retrying."""
        self = cls(store, keys, settings)
        await self._startup(stream)
        if settings.witness_url:
            self.witness = Witness(settings.witness_url, settings.witness_dir or settings.spool_dir.parent / "witness",
                                   self._chain.stream, token=settings.witness_token, timeout=settings.timeout)
            self.witness.start()
        self._task = asyncio.create_task(self._run(), name="candor-audit-writer")
        return self

    async def _startup(self, stream: str | None) -> None:
        await self._try_open_store()
        chain: Chain | None = None
        spool: Spool | None = None
        if stream is not None:
            try:
                spool = Spool(self.settings.spool_dir, stream)
            except BlockingIOError:
                raise RuntimeError(f"audit stream {stream!r} is in use by another live process") from None
            if self._healthy:
                try:
                    if spool.pending:
                        await self._replay(spool.entries())
                        spool.clear()
                    head = await asyncio.wait_for(self.store.stream_head(stream), self.settings.timeout)
                    chain = Chain(stream, *head) if head else Chain(stream)
                    self._resume = head is not None
                except Exception as exc:
                    self._down(exc)
            if chain is None:  # head unknown: write a derived stream rather than risk a fork
                spool.close()
                stream = new_stream_id(stream)
        if chain is None or spool is None:
            name = stream or new_stream_id()
            chain, spool = Chain(name), Spool(self.settings.spool_dir, name)
        self._chain, self._spool = chain, spool
        if self._healthy:
            try:
                await self._replay_orphans()
            except Exception as exc:
                self._down(exc)

    async def _try_open_store(self) -> None:
        try:
            if not self._store_opened:
                await asyncio.wait_for(self.store.open(), self.settings.timeout)
                self._store_opened = True
            self._healthy = True
        except Exception as exc:
            self._down(exc)

    @property
    def healthy(self) -> bool:
        """The store took the last write (or the last probe): for /readyz and fail-closed admission."""
        return self._healthy and not self._closed

    @property
    def stream(self) -> str:
        return self._chain.stream

    async def close(self) -> None:
        """Drain the queue, write a final checkpoint, release the spool and the store."""
        if self._closed:
            return
        self._closed = True
        if self._task is not None:
            self._queue.put_nowait(_CLOSE)
            await self._task
        if self.witness is not None:
            await self.witness.close()
        self._spool.close()
        if self._store_opened:
            with contextlib.suppress(Exception):
                await self.store.close()

    # -- appending ---------------------------------------------------------------------------------

    async def append(self, draft: EventDraft) -> AuditEvent:
        """Seal and durably record ``draft``; returns once committed (or spooled, fail-open)."""
        if self._closed:
            raise RuntimeError("the audit log is closed")
        if not self._healthy and draft.fail_mode == "closed":
            raise AuditUnavailable("the audit store is unavailable and the policy says fail closed")
        fut: asyncio.Future[AuditEvent] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(draft, fut))
        return await fut

    async def checkpoint(self) -> None:
        """Write a signed checkpoint now (if anything was written since the last one)."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(("checkpoint", fut))
        await fut

    async def _run(self) -> None:
        closing = False
        while not closing:
            wait = max(0.0, self._cp_time + self.settings.checkpoint_interval - time.monotonic())
            if not self._healthy:
                wait = min(wait, max(0.0, self._next_retry - time.monotonic()))
            items: list[_Pending] = []
            forced: list[asyncio.Future[None]] = []
            first: Any = None
            if not self._queue.empty():   # the hot path: no timer, no extra task
                first = self._queue.get_nowait()
            else:
                try:
                    async with asyncio.timeout(wait if self._since_cp or not self._healthy else None):
                        first = await self._queue.get()
                except TimeoutError:
                    first = None
            nxt = first
            while nxt is not None:
                if nxt is _CLOSE:
                    closing = True
                elif isinstance(nxt, tuple):
                    forced.append(nxt[1])
                else:
                    items.append(nxt)
                if len(items) >= self.settings.batch_max or self._queue.empty():
                    break
                nxt = self._queue.get_nowait()
            if not self._healthy and time.monotonic() >= self._next_retry:
                await self._recover()
            try:
                force_cp = bool(forced) or (closing and self._since_cp + len(items) > 0)
                final = closing and (self._chain.seq > 0 or bool(items))
                if items or force_cp or final or self._checkpoint_due(0):
                    await self._process(items, force_cp, final)
            except Exception as exc:  # the writer must survive anything
                log.exception("audit writer failed a batch", error=str(exc))
                for p in items:
                    if not p.future.done():
                        p.future.set_exception(AuditUnavailable(f"audit write failed: {exc}"))
            for fut in forced:
                if not fut.done():
                    fut.set_result(None)

    def _checkpoint_due(self, incoming: int) -> bool:
        pending = self._since_cp + incoming
        if pending >= self.settings.checkpoint_every:
            return True
        return pending > 0 and time.monotonic() - self._cp_time >= self.settings.checkpoint_interval

    def _prepare(self, p: _Pending) -> tuple[str | None, str | None, bytes | None]:
        """(user_ref, content owner, encoded content) of one draft; raises ``AuditEventInvalid``."""
        d = p.draft
        for name in ("session_id", "persona_id", "app_id", "policy_id", "user_id"):
            value = getattr(d, name)
            if value is not None and len(value) > _ID_MAX:
                raise AuditEventInvalid(f"{name} is {len(value):,} characters, over the {_ID_MAX} allowed")
        user_ref = self.keys.user_ref(d.user_id)
        if d.content is None:
            return user_ref, None, None
        try:
            content = orjson.dumps(d.content)
        except (TypeError, ValueError, RecursionError) as exc:   # nested too deep, invalid surrogates...
            raise AuditEventInvalid(f"the message content cannot be recorded: {exc}") from None
        if len(content) > self.settings.max_content_bytes:
            raise AuditEventInvalid(f"the message content is {len(content):,} bytes, over the "
                                    f"{self.settings.max_content_bytes:,} audit.max_content_bytes allows")
        # content without a user is keyed to its session so it can still be shredded
        owner = user_ref or (self.keys.user_ref(f"\x00session:{d.session_id}") if d.session_id else None)
        return user_ref, owner, content if owner else None

    def _seal_life(self, phase: str, now: int, out: list[_Sealed]) -> None:
        draft = phase_draft(new_event_id(), phase, self._chain, self.keys,
                            self._known_streams if phase == "start" else None)
        event, row = self._chain.seal(draft, now, None, None)
        out.append(_Sealed(None, event, row))

    def _seal_all(self, items: list[_Pending], force_cp: bool, final: bool = False) -> list[_Sealed]:
        """Seal ``items`` into the chain. An item that cannot be encoded fails alone (its future gets
        ``AuditEventInvalid``) and takes no sequence number: the chain never gets a gap."""
        now = _now_us()
        out: list[_Sealed] = []
        if self._chain.seq == 0 and (items or force_cp or final):
            self._seal_life("start", now, out)
        elif self._resume and (items or force_cp or final):
            self._seal_life("resume", now, out)
        self._resume = False
        sealed_items = 0
        for p in items:
            d = p.draft
            try:
                user_ref, owner, content = self._prepare(p)
                # time-ordered (ULID-like, 64 random bits): the content table's key index grows at its end,
                # one page per batch, not one random page per event
                content_ref = new_event_id() if owner else None
                event, row = self._chain.seal(d, now, user_ref, content_ref, self.settings.max_event_bytes)
            except AuditEventInvalid as exc:
                if not p.future.done():
                    p.future.set_exception(exc)
                continue
            out.append(_Sealed(p, event, row, owner, content))
            sealed_items += 1
        due = self._checkpoint_due(sealed_items)
        self._since_cp += sealed_items
        if final and self._chain.seq > 0:
            self._seal_life("end", now, out)
            self._since_cp, self._cp_time = 0, time.monotonic()
        elif force_cp or due:
            draft = checkpoint_draft(new_event_id(), self._chain, self.keys)
            event, row = self._chain.seal(draft, now, None, None)
            out.append(_Sealed(None, event, row))
            self._since_cp, self._cp_time = 0, time.monotonic()
        return out

    async def _load_known_streams(self) -> None:
        """The streams the store holds, for the signed start of a new stream (once per stream)."""
        if self._chain.seq != 0 or self._known_streams is not None:
            return
        async with asyncio.timeout(self.settings.timeout):
            infos = await self.store.streams()
        names = sorted((i.stream for i in infos if i.stream != self._chain.stream), reverse=True)
        self._known_streams = names[:_KNOWN_STREAMS_MAX]

    async def _process(self, items: list[_Pending], force_cp: bool, final: bool = False) -> None:
        if self._healthy:
            try:
                await self._load_known_streams()
            except Exception as exc:
                self._down(exc)
        if self._healthy:
            sealed = self._seal_all(items, force_cp, final)
            try:
                contents, new_keys = await self._encrypt_from_store(sealed)
                async with asyncio.timeout(self.settings.timeout):   # unlike wait_for, no task per batch
                    await self.store.append([s.row for s in sealed], contents, new_keys)
            except Exception as exc:
                self._down(exc)
                self._switch_stream()
            else:
                self._resolve(sealed)
                await self._anchor_batch([s.row for s in sealed])
                await self._witness_batch([s.row for s in sealed])
                return
        for p in items:
            if p.draft.fail_mode == "closed" and not p.future.done():
                p.future.set_exception(AuditUnavailable("the audit store is unavailable (fail closed)"))
        open_items = [p for p in items if p.draft.fail_mode == "open"]
        if not open_items and not force_cp and not final and not self._checkpoint_due(0):
            return
        sealed = self._seal_all(open_items, force_cp, final)
        entries = self._encrypt_for_spool(sealed)
        try:
            await asyncio.to_thread(self._spool.write, entries)
        except OSError as exc:
            log.error("audit spool write failed", error=str(exc), spool=str(self._spool.path))
            self._switch_stream()  # the file may hold part of the batch: never reuse its numbers
            for p in open_items:
                if not p.future.done():
                    p.future.set_exception(AuditUnavailable(f"audit store down and spool failed: {exc}"))
            return
        self._resolve(sealed)
        await self._witness_batch([s.row for s in sealed])

    async def _witness_batch(self, rows: list[EventRow]) -> None:
        if self.witness is None:
            return
        items = statements(rows)
        if not items:
            return
        try:
            await asyncio.to_thread(self.witness.add, items)
        except OSError as exc:
            log.error("audit witness outbox write failed", error=str(exc))
            return
        self.witness.wake()

    def _resolve(self, sealed: list[_Sealed]) -> None:
        for s in sealed:
            if s.pending is not None and not s.pending.future.done():
                s.pending.future.set_result(s.event)

    async def _encrypt_from_store(self, sealed: list[_Sealed]) -> tuple[list[ContentRow], list[KeyRow]]:
        owners = sorted({s.owner for s in sealed if s.owner})
        if not owners:
            return [], []
        now = time.monotonic()
        deks: dict[str, tuple[str, bytes]] = {}
        for owner in owners:
            hit = self._deks.get(owner)
            if hit is not None and hit[0] > now:
                deks[owner] = (hit[1], hit[2])
        missing = [o for o in owners if o not in deks]
        existing: dict[str, KeyRow] = {}
        if missing:
            async with asyncio.timeout(self.settings.timeout):
                existing = await self.store.user_keys(missing)
        new_keys: list[KeyRow] = []
        for owner in missing:
            row = existing.get(owner)
            if row is not None:
                deks[owner] = (row.key_id, unwrap(self.keys.master, row))
                if len(self._deks) >= _DEK_CACHE_MAX:
                    self._deks.clear()
                self._deks[owner] = (now + _DEK_CACHE_TTL, *deks[owner])   # stored keys only, never unsaved ones
            else:
                row, dek = new_data_key(self.keys.master, owner)
                new_keys.append(row)
                deks[owner] = (row.key_id, dek)
        contents = []
        for s in sealed:
            if s.owner and s.content is not None:
                kid, dek = deks[s.owner]
                contents.append(seal_content_bytes(dek, kid, s.owner, s.event.content_ref or "", s.row.ts_us,
                                                   s.content))
        return contents, new_keys

    def _encrypt_for_spool(self, sealed: list[_Sealed]) -> list[SpoolEntry]:
        entries = []
        for s in sealed:
            entry = SpoolEntry(s.row)
            if s.owner and s.content is not None:
                cached = self._spool_keys.keys.get(s.owner)
                if cached is None:
                    row, dek = new_data_key(self.keys.master, s.owner)
                    cached = (row, dek, False)
                key_row, dek, written = cached
                if not written:
                    entry.key = key_row
                    self._spool_keys.keys[s.owner] = (key_row, dek, True)
                entry.content = seal_content_bytes(dek, key_row.key_id, s.owner, s.event.content_ref or "",
                                                   s.row.ts_us, s.content)
            entries.append(entry)
        return entries

    async def _anchor_batch(self, rows: list[EventRow]) -> None:
        if self.anchor is None or not rows:
            return
        lines = [self.anchor.line("checkpoint", cp.stream, cp.seq, cp.hash)
                 for cp in checkpoints_in(rows).values()]
        heads: dict[str, EventRow] = {}
        for r in rows:
            seen = heads.get(r.stream)
            if seen is None or r.seq > seen.seq:
                heads[r.stream] = r
        lines += [self.anchor.line("head", r.stream, r.seq, r.hash) for r in heads.values()]
        try:
            await asyncio.to_thread(self.anchor.write, lines)
        except OSError as exc:
            log.error("audit anchor file write failed", error=str(exc), path=str(self.anchor.path))

    # -- failure and recovery ----------------------------------------------------------------------

    def _down(self, exc: BaseException) -> None:
        if self._healthy or not self._next_retry:
            log.warning("audit store unavailable", store=self.store.url, error=repr(exc))
        self._healthy = False
        self._next_retry = time.monotonic() + self.settings.retry_interval

    def _switch_stream(self) -> None:
        old = self._spool
        name = new_stream_id()
        self._chain = Chain(name)
        self._known_streams = None
        self._resume = False
        self._spool = Spool(self.settings.spool_dir, name)
        old.close()
        if self.witness is not None:
            self.witness.switch(name)
        self._since_cp, self._cp_time = 0, time.monotonic()
        self._spool_keys = _SpoolKeys()

    async def _recover(self) -> None:
        self._next_retry = time.monotonic() + self.settings.retry_interval
        try:
            if not self._store_opened:
                await asyncio.wait_for(self.store.open(), self.settings.timeout)
                self._store_opened = True
            await asyncio.wait_for(self.store.ping(), self.settings.timeout)
            if self._spool.pending:
                await self._replay(self._spool.entries())
                self._spool.clear()
            await self._replay_orphans()
        except Exception as exc:
            log.info("audit store still unavailable", error=repr(exc))
            return
        self._spool_keys = _SpoolKeys()
        self._healthy = True
        log.info("audit store available again; spool replayed", store=self.store.url)

    async def _replay(self, entries: Any) -> None:
        chunk: list[SpoolEntry] = []
        for entry in entries:
            chunk.append(entry)
            if len(chunk) >= _REPLAY_CHUNK:
                await self._replay_chunk(chunk)
                chunk = []
        if chunk:
            await self._replay_chunk(chunk)

    async def _replay_chunk(self, chunk: list[SpoolEntry]) -> None:
        rows = [e.event for e in chunk]
        await asyncio.wait_for(self.store.append(
            rows, [e.content for e in chunk if e.content], [e.key for e in chunk if e.key]),
            self.settings.timeout)
        await self._anchor_batch(rows)

    async def _replay_orphans(self) -> None:
        for path, fd in orphans(self.settings.spool_dir, self._spool.path):
            try:
                await self._replay(read_entries(path))
                path.unlink(missing_ok=True)
                log.info("replayed audit spool of an earlier writer", spool=str(path))
            finally:
                os.close(fd)

    # -- erasure and retention live in retention.py; thin delegates keep one entry point ----------

    async def erase_user(self, user_id: str, *, actor: str | None = None, app_id: str | None = None
                         ) -> tuple[AuditEvent, int, int]:
        """Crypto-shred ``user_id``'s content; returns (erasure event, keys destroyed, contents deleted)."""
        from middleware.audit.retention import erase_user

        return await erase_user(self, user_id, actor=actor, app_id=app_id)

    async def purge(self, older_than: float) -> AuditEvent:
        """Delete events (and content) older than ``older_than`` seconds; record a signed purge event."""
        from middleware.audit.retention import purge

        return await purge(self, older_than)

    async def run_retention(self, retention_seconds: float, every: float = 3600.0) -> None:
        """Background job: purge beyond ``retention_seconds`` now and then every ``every`` seconds."""
        from middleware.audit.retention import run_retention

        await run_retention(self, retention_seconds, every)

    def forget_spool_key(self, owner: str) -> None:
        self._spool_keys.keys.pop(owner, None)
        self._deks.pop(owner, None)
