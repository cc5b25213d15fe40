"""SQLite audit store (the default): WAL, one writer
connection on its own thread so the event loop never blocks on fsync, and a second connection for
reads so verification and exports do not queue behind writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

from adapters.sqlite.db import SharedSqlite, migrate
from adapters.stores.schemas import AUDIT_ROLLUP, render
from middleware.audit.rollup import RANKED, RollupCut, RollupDelta, RollupFigures, RollupMark
from middleware.audit.store import (
    ContentRow,
    Cursor,
    EventFilter,
    EventRow,
    KeyRow,
    StoreUnavailable,
    StreamAnchor,
    StreamInfo,
    checkpoints_in,
)

T = TypeVar("T")

_MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE audit_events (
            stream TEXT NOT NULL, seq INTEGER NOT NULL, event_id TEXT NOT NULL, ts_us INTEGER NOT NULL,
            kind TEXT NOT NULL, user_ref TEXT, session_id TEXT, content_ref TEXT,
            body TEXT NOT NULL, hash TEXT NOT NULL)""",
        # a rowid table: rows of ~1 kB append cheaply; WITHOUT ROWID suits small rows only
        "CREATE UNIQUE INDEX audit_events_pos ON audit_events (stream, seq)",
        "CREATE INDEX audit_events_ts ON audit_events (ts_us, stream, seq)",
        "CREATE INDEX audit_events_session ON audit_events (session_id, ts_us)",
        "CREATE INDEX audit_events_user ON audit_events (user_ref, ts_us)",
        """CREATE TABLE audit_streams (
            stream TEXT PRIMARY KEY, head_seq INTEGER NOT NULL, head_hash TEXT NOT NULL,
            head_ts_us INTEGER NOT NULL, cp_seq INTEGER, cp_hash TEXT, cp_sig TEXT, cp_key_id TEXT,
            anchor_first_seq INTEGER, anchor_prev_hash TEXT, anchor_sig TEXT, anchor_key_id TEXT)""",
        """CREATE TABLE audit_keys (key_id TEXT PRIMARY KEY, user_ref TEXT NOT NULL, wrapped BLOB NOT NULL,
            created_us INTEGER NOT NULL)""",
        "CREATE INDEX audit_keys_user ON audit_keys (user_ref, created_us)",
        """CREATE TABLE audit_content (content_ref TEXT PRIMARY KEY, user_ref TEXT NOT NULL,
            key_id TEXT NOT NULL, ts_us INTEGER NOT NULL, nonce BLOB NOT NULL, ciphertext BLOB NOT NULL)""",
        "CREATE INDEX audit_content_user ON audit_content (user_ref)",
        "CREATE TABLE audit_erasures (user_ref TEXT PRIMARY KEY, erased_us INTEGER NOT NULL)",
    ],
    *render([AUDIT_ROLLUP], "sqlite"),   # 2: the console's rollup (derived; back-filled on its first refresh)
]

_EVENT_COLS = "stream, seq, event_id, ts_us, kind, user_ref, session_id, content_ref, body, hash"


def _row(r: Sequence[Any]) -> EventRow:
    return EventRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8].encode(), r[9])


def _path_from_url(url: str, base_dir: Path | None) -> Path:
    parts = urlsplit(url)
    raw = url.split("://", 1)[1]
    path = raw[1:] if raw.startswith("/") else raw  # sqlite:///rel/path, sqlite:////abs/path
    path = path.split("?", 1)[0]
    if parts.netloc:
        raise ValueError(f"{url!r}: write sqlite:///relative/path.db or sqlite:////absolute/path.db")
    p = Path(path).expanduser()
    return p if p.is_absolute() else (base_dir or Path.cwd()) / p


def _synchronous(url: str) -> str:
    """``?synchronous=normal`` (default) or ``full``.

    In WAL mode ``normal`` commits each batch to the write-ahead log before the reply completes: it
    survives a crash of Candor, and only a power loss or OS crash can lose the last moments. ``full``
    also fsyncs every commit, which survives power loss and costs ~0.3 ms per commit on the bench
    machine (most of the per-reply latency budget at one request in flight); choose it when the
    machine has no battery-backed storage and that risk matters more than the latency."""
    query = dict(parse_qsl(urlsplit(url).query))
    mode = query.get("synchronous", "normal").lower()
    if mode not in ("normal", "full"):
        raise ValueError(f"{url!r}: synchronous must be normal or full, not {mode!r}")
    return mode.upper()


_CHECKPOINT_EVERY = 200   # commits between WAL checkpoints (run on the reader's thread)


def _wal_checkpoint(conn: sqlite3.Connection) -> None:
    """Copy the write-ahead log into the database without blocking writers (PASSIVE)."""
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()


class _Conn:
    """One connection living on one thread."""

    def __init__(self, path: Path, name: str, synchronous: str = "NORMAL") -> None:
        self.synchronous = synchronous
        self._threaded = 0
        self._no_wait = False   # busy_timeout is 0 (inline writes) rather than 10 s
        self.path = path
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self.conn: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self.conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
            conn.execute("PRAGMA busy_timeout=10000")
            conn.execute("PRAGMA cache_size=-32768")  # 32 MiB: index pages stay hot under load
            # checkpoints run off the write path (SQLiteAuditStore._maybe_checkpoint), not inside a commit
            conn.execute("PRAGMA wal_autocheckpoint=0")
            self.conn = conn
        return self.conn

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            return _call(self._connect(), fn, self.path)

        return await asyncio.get_running_loop().run_in_executor(self.pool, call)

    async def run_inline(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` on the event loop's own thread when that cannot block it: only without fsync on
        commit (``synchronous=normal``), only while no threaded call is in flight, and only while no
        other process holds the write lock (busy timeout 0). Otherwise, or when the database is busy,
        the threaded path with its long busy timeout. A commit of one batch then costs ~20 µs instead of
        a thread round trip (~150 µs under load)."""
        if self.synchronous != "NORMAL" or self._threaded:
            return await self._run_counted(fn)
        conn = self._connect()
        if not self._no_wait:
            conn.execute("PRAGMA busy_timeout=0")
            self._no_wait = True
        try:
            return fn(conn)
        except sqlite3.OperationalError as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise StoreUnavailable(f"sqlite {self.path}: {exc}") from exc
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StoreUnavailable(f"sqlite {self.path}: {exc}") from exc
        return await self._run_counted(fn)

    async def _run_counted(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        self._threaded += 1
        try:
            if self._no_wait:   # the threaded path may wait for another process's write lock
                self._no_wait = False
                await self.run(lambda c: c.execute("PRAGMA busy_timeout=10000"))
            return await self.run(fn)
        finally:
            self._threaded -= 1

    async def close(self) -> None:
        def shut() -> None:
            if self.conn is not None:
                self.conn.close()
                self.conn = None

        await asyncio.get_running_loop().run_in_executor(self.pool, shut)
        self.pool.shutdown(wait=True)


class _SharedReader:
    """Reads (and WAL checkpoints) on the process's one shared connection to the file (``SharedSqlite``),
    the one the registries use: the audit log adds only its writer's connection."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.shared = SharedSqlite.acquire(str(path), synchronous="NORMAL", foreign_keys=False)

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        shared = self.shared

        def call() -> T:
            conn = shared.conn
            if conn is None:
                raise StoreUnavailable(f"sqlite {self.path}: the connection could not be opened")
            return _call(conn, fn, self.path)

        return await asyncio.get_running_loop().run_in_executor(shared.executor, call)

    async def close(self) -> None:
        await self.shared.release()


class SQLiteAuditStore:
    def __init__(self, url: str, *, base_dir: Path | None = None) -> None:
        self.url = url
        self.path = _path_from_url(url, base_dir)
        self._w: _Conn | None = None
        self._r: _SharedReader | None = None
        self._commits = 0
        self._checkpoint: asyncio.Future[None] | None = None

    @property
    def _writer(self) -> _Conn:
        if self._w is None:
            raise StoreUnavailable("the SQLite audit store is not open")
        return self._w

    @property
    def _reader(self) -> _SharedReader:
        if self._r is None:
            raise StoreUnavailable("the SQLite audit store is not open")
        return self._r

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._w = _Conn(self.path, "candor-audit-sqlite-w", _synchronous(self.url))
        await self._writer.run(_migrate)
        self._r = _SharedReader(self.path)

    async def close(self) -> None:
        if self._checkpoint is not None:
            with contextlib.suppress(Exception):
                await self._checkpoint
        writer, reader, self._w, self._r = self._w, self._r, None, None
        for conn in (writer, reader):
            if conn is not None:
                await conn.close()

    async def ping(self) -> None:
        await self._writer.run(lambda c: c.execute("SELECT max(version) FROM audit_schema").fetchone())

    async def append(self, events: Sequence[EventRow], contents: Sequence[ContentRow],
                     keys: Sequence[KeyRow]) -> None:
        await self._writer.run_inline(lambda c: _append(c, events, contents, keys))
        self._commits += 1
        if self._commits % _CHECKPOINT_EVERY == 0 and (self._checkpoint is None or self._checkpoint.done()):
            self._checkpoint = asyncio.ensure_future(self._reader.run(_wal_checkpoint))

    async def user_keys(self, user_refs: Sequence[str]) -> dict[str, KeyRow]:
        def q(c: sqlite3.Connection) -> dict[str, KeyRow]:
            out: dict[str, KeyRow] = {}
            for chunk in _chunks(list(user_refs)):
                sql = (f"SELECT key_id, user_ref, wrapped FROM audit_keys WHERE user_ref IN ({_qs(chunk)}) "
                       "ORDER BY created_us")
                for kid, ref, wrapped in c.execute(sql, chunk):
                    out[ref] = KeyRow(kid, ref, wrapped)  # newest wins
            return out

        return await self._reader.run(q)

    async def get_keys(self, key_ids: Sequence[str]) -> dict[str, KeyRow]:
        def q(c: sqlite3.Connection) -> dict[str, KeyRow]:
            out = {}
            for chunk in _chunks(list(key_ids)):
                sql = f"SELECT key_id, user_ref, wrapped FROM audit_keys WHERE key_id IN ({_qs(chunk)})"
                out.update({k: KeyRow(k, u, w) for k, u, w in c.execute(sql, chunk)})
            return out

        return await self._reader.run(q)

    async def get_content(self, refs: Sequence[str]) -> dict[str, ContentRow]:
        def q(c: sqlite3.Connection) -> dict[str, ContentRow]:
            out = {}
            for chunk in _chunks(list(refs)):
                sql = ("SELECT content_ref, user_ref, key_id, ts_us, nonce, ciphertext FROM audit_content "
                       f"WHERE content_ref IN ({_qs(chunk)})")
                out.update({r[0]: ContentRow(*r) for r in c.execute(sql, chunk)})
            return out

        return await self._reader.run(q)

    async def erase_user(self, user_ref: str, erased_at_us: int) -> tuple[int, int]:
        def tx(c: sqlite3.Connection) -> tuple[int, int]:
            c.execute("BEGIN IMMEDIATE")
            keys = c.execute("DELETE FROM audit_keys WHERE user_ref = ?", (user_ref,)).rowcount
            contents = c.execute("DELETE FROM audit_content WHERE user_ref = ?", (user_ref,)).rowcount
            c.execute("INSERT INTO audit_erasures (user_ref, erased_us) VALUES (?, ?) ON CONFLICT (user_ref) "
                      "DO UPDATE SET erased_us = max(erased_us, excluded.erased_us)", (user_ref, erased_at_us))
            c.execute("COMMIT")
            return keys, contents

        return await self._writer.run(tx)

    async def streams(self) -> list[StreamInfo]:
        def q(c: sqlite3.Connection) -> list[StreamInfo]:
            rows = c.execute("SELECT stream, head_seq, head_hash, cp_seq, cp_hash, cp_sig, cp_key_id, "
                             "anchor_first_seq, anchor_prev_hash, anchor_sig, anchor_key_id "
                             "FROM audit_streams ORDER BY stream").fetchall()
            return [_stream_info(r) for r in rows]

        return await self._reader.run(q)

    async def stream_head(self, stream: str) -> tuple[int, str, int] | None:
        def q(c: sqlite3.Connection) -> tuple[int, str, int] | None:
            r = c.execute("SELECT head_seq, head_hash, head_ts_us FROM audit_streams WHERE stream = ?",
                          (stream,)).fetchone()
            return (r[0], r[1], r[2]) if r else None

        return await self._writer.run(q)  # the writer sees its own latest commit

    async def scan(self, after: tuple[str, int] | None, limit: int) -> list[EventRow]:
        def q(c: sqlite3.Connection) -> list[EventRow]:
            if after is None:
                cur = c.execute(f"SELECT {_EVENT_COLS} FROM audit_events ORDER BY stream, seq LIMIT ?", (limit,))
            else:
                cur = c.execute(f"SELECT {_EVENT_COLS} FROM audit_events WHERE (stream, seq) > (?, ?) "
                                "ORDER BY stream, seq LIMIT ?", (after[0], after[1], limit))
            return [_row(r) for r in cur]

        return await self._reader.run(q)

    async def query(self, flt: EventFilter, after: Cursor | None, limit: int) -> list[EventRow]:
        where: list[str] = []
        args: list[Any] = []
        for col, val in (("session_id", flt.session_id), ("user_ref", flt.user_ref), ("kind", flt.kind)):
            if val is not None:
                where.append(f"{col} = ?")
                args.append(val)
        if flt.kinds is not None:
            where.append(f"kind IN ({_qs(flt.kinds) or 'NULL'})")
            args.extend(flt.kinds)
        if flt.since_us is not None:
            where.append("ts_us >= ?")
            args.append(flt.since_us)
        if flt.until_us is not None:
            where.append("ts_us < ?")
            args.append(flt.until_us)
        if after is not None:
            where.append("(ts_us, stream, seq) > (?, ?, ?)")
            args.extend(after)
        sql = (f"SELECT {_EVENT_COLS} FROM audit_events {'WHERE ' + ' AND '.join(where) if where else ''} "
               "ORDER BY ts_us, stream, seq LIMIT ?")
        args.append(limit)
        return await self._reader.run(lambda c: [_row(r) for r in c.execute(sql, args)])

    async def purge_plan(self, before_us: int) -> list[tuple[str, int, str]]:
        def q(c: sqlite3.Connection) -> list[tuple[str, int, str]]:
            rows = c.execute("SELECT e.stream, e.seq + 1, e.hash FROM audit_events e JOIN "
                             "(SELECT stream, max(seq) AS s FROM audit_events WHERE ts_us < ? GROUP BY stream) m "
                             "ON e.stream = m.stream AND e.seq = m.s ORDER BY e.stream", (before_us,))
            return [(s, n, h) for s, n, h in rows]

        return await self._reader.run(q)

    async def purge(self, anchors: Sequence[StreamAnchor]) -> int:
        def tx(c: sqlite3.Connection) -> int:
            c.execute("BEGIN IMMEDIATE")
            deleted = 0
            for a in anchors:
                c.execute("DELETE FROM audit_content WHERE content_ref IN (SELECT content_ref FROM audit_events "
                          "WHERE stream = ? AND seq < ? AND content_ref IS NOT NULL)", (a.stream, a.first_seq))
                deleted += c.execute("DELETE FROM audit_events WHERE stream = ? AND seq < ?",
                                     (a.stream, a.first_seq)).rowcount
                c.execute("UPDATE audit_streams SET anchor_first_seq = ?, anchor_prev_hash = ?, anchor_sig = ?, "
                          "anchor_key_id = ? WHERE stream = ? AND coalesce(anchor_first_seq, 0) < ?",
                          (a.first_seq, a.prev_hash, a.signature, a.key_id, a.stream, a.first_seq))
            c.execute("COMMIT")
            return deleted

        return await self._writer.run(tx)

    # the console's rollup (middleware/audit/rollup.py): derived data beside the log, never read by verify.
    # Its writes go through the process's shared connection (its own thread), never the log writer's: the
    # writer's inline appends must not interleave with another transaction on their connection.

    async def rollup_marks(self) -> dict[str, RollupMark]:
        def q(c: sqlite3.Connection) -> dict[str, RollupMark]:
            rows = c.execute("SELECT stream, first_seq, read_to FROM audit_rollup_marks")
            return {s: RollupMark(s, f, r) for s, f, r in rows}

        return await self._reader.run(q)

    async def rollup_advance(self, delta: RollupDelta) -> bool:
        return await self._reader.run(lambda c: _rollup_advance(c, delta))

    async def rollup_cut(self, cut: RollupCut) -> bool:
        return await self._reader.run(lambda c: _rollup_cut(c, cut))

    async def rollup_reset(self) -> None:
        def tx(c: sqlite3.Connection) -> None:
            c.execute("BEGIN IMMEDIATE")
            for table in _ROLLUP_TABLES:
                c.execute(f"DELETE FROM {table}")
            c.execute("COMMIT")

        await self._reader.run(tx)

    async def rollup_read(self, first_hour: int, hours: int, step_hours: int) -> RollupFigures:
        def q(c: sqlite3.Connection) -> RollupFigures:
            span = (first_hour, first_hour + hours)
            counts = c.execute("SELECT (ts_hour - ?) / ?, grp, name, sum(n) FROM audit_rollup_counts "
                               "WHERE ts_hour >= ? AND ts_hour < ? GROUP BY 1, 2, 3",
                               (first_hour, step_hours, *span)).fetchall()
            alerts = c.execute(_ALERTS_READ, span).fetchall()
            return RollupFigures(counts, {RANKED[r]: n for r, n in alerts})

        return await self._reader.run(q)


_ROLLUP_TABLES = ("audit_rollup_counts", "audit_rollup_alerts", "audit_rollup_outcomes", "audit_rollup_marks")
# each followed alert's best outcome (2 delivered, 1 gave up, 0 none yet), counted per outcome
_ALERTS_READ = ("SELECT r, count(*) FROM (SELECT a.event_id, max(CASE o.outcome WHEN 'delivered' THEN 2 "
                "WHEN 'gave_up' THEN 1 ELSE 0 END) AS r FROM audit_rollup_alerts a LEFT JOIN audit_rollup_outcomes o "
                "ON o.event_id = a.event_id WHERE a.ts_hour >= ? AND a.ts_hour < ? GROUP BY a.event_id) t GROUP BY r")


def _rollup_mark_is(c: sqlite3.Connection, stream: str, read_to: int, first_seq: int | None = None) -> bool:
    row = c.execute("SELECT first_seq, read_to FROM audit_rollup_marks WHERE stream = ?", (stream,)).fetchone()
    if row is None:
        return read_to == 0 and first_seq is None
    return bool(row[1] == read_to and (first_seq is None or row[0] == first_seq))


def _rollup_add(c: sqlite3.Connection, stream: str, counts: Mapping[tuple[int, str, str], int]) -> None:
    c.executemany("INSERT INTO audit_rollup_counts (ts_hour, stream, grp, name, n) VALUES (?, ?, ?, ?, ?) "
                  "ON CONFLICT (ts_hour, stream, grp, name) DO UPDATE SET n = n + excluded.n",
                  [(h, stream, g, name, n) for (h, g, name), n in counts.items()])


def _rollup_advance(c: sqlite3.Connection, d: RollupDelta) -> bool:
    c.execute("BEGIN IMMEDIATE")
    if not _rollup_mark_is(c, d.stream, d.expect):
        c.execute("ROLLBACK")
        return False
    _rollup_add(c, d.stream, d.counts)
    c.executemany("INSERT INTO audit_rollup_alerts (event_id, stream, seq, ts_hour) VALUES (?, ?, ?, ?) "
                  "ON CONFLICT DO NOTHING", [(e, d.stream, seq, h) for e, (seq, h) in d.alerted.items()])
    c.executemany("INSERT INTO audit_rollup_outcomes (stream, seq, event_id, outcome) VALUES (?, ?, ?, ?) "
                  "ON CONFLICT DO NOTHING", [(d.stream, seq, e, o) for (seq, e), o in d.outcomes.items()])
    c.execute("INSERT INTO audit_rollup_marks (stream, first_seq, read_to) VALUES (?, ?, ?) "
              "ON CONFLICT (stream) DO UPDATE SET read_to = excluded.read_to", (d.stream, d.first_seq, d.read_to))
    c.execute("COMMIT")
    return True


def _rollup_cut(c: sqlite3.Connection, cut: RollupCut) -> bool:
    c.execute("BEGIN IMMEDIATE")
    if not _rollup_mark_is(c, cut.stream, cut.expect.read_to, cut.expect.first_seq):
        c.execute("ROLLBACK")
        return False
    if cut.hour is None:
        c.execute("DELETE FROM audit_rollup_counts WHERE stream = ?", (cut.stream,))
    else:
        c.execute("DELETE FROM audit_rollup_counts WHERE ts_hour <= ? AND stream = ?", (cut.hour, cut.stream))
    _rollup_add(c, cut.stream, cut.counts)
    for table in ("audit_rollup_alerts", "audit_rollup_outcomes"):
        c.execute(f"DELETE FROM {table} WHERE stream = ? AND seq < ?", (cut.stream, cut.first_seq))
    c.execute("UPDATE audit_rollup_marks SET first_seq = ?, read_to = ? WHERE stream = ?",
              (cut.first_seq, cut.read_to, cut.stream))
    c.execute("COMMIT")
    return True


def _qs(items: Sequence[Any]) -> str:
    return ",".join("?" * len(items))


def _chunks(items: list[str], size: int = 500) -> list[list[str]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _stream_info(r: Sequence[Any]) -> StreamInfo:
    anchor = StreamAnchor(r[0], r[7], r[8], r[9], r[10]) if r[7] is not None else None
    return StreamInfo(r[0], r[1], r[2], r[3], r[4], r[5], r[6], anchor)


def _migrate(c: sqlite3.Connection) -> None:
    migrate(c, "audit_schema", _MIGRATIONS, stamped=False)


def _append(c: sqlite3.Connection, events: Sequence[EventRow], contents: Sequence[ContentRow],
            keys: Sequence[KeyRow]) -> None:
    c.execute("BEGIN IMMEDIATE")
    if contents:
        refs = sorted({x.user_ref for x in contents})
        erased: dict[str, int] = {}
        for chunk in _chunks(refs):
            erased.update(c.execute(f"SELECT user_ref, erased_us FROM audit_erasures WHERE user_ref IN ({_qs(chunk)})",
                                    chunk).fetchall())
        if erased:
            contents = [x for x in contents if x.ts_us > erased.get(x.user_ref, -1)]
            used = {x.key_id for x in contents}
            keys = [k for k in keys if k.user_ref not in erased or k.key_id in used]
    c.executemany(f"INSERT OR IGNORE INTO audit_events ({_EVENT_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                  [(e.stream, e.seq, e.event_id, e.ts_us, e.kind, e.user_ref, e.session_id, e.content_ref,
                    e.body.decode(), e.hash) for e in events])
    if keys:
        c.executemany("INSERT OR IGNORE INTO audit_keys (key_id, user_ref, wrapped, created_us) VALUES (?,?,?,?)",
                      [(k.key_id, k.user_ref, k.wrapped, events[0].ts_us if events else 0) for k in keys])
    if contents:
        c.executemany("INSERT OR IGNORE INTO audit_content (content_ref, user_ref, key_id, ts_us, nonce, ciphertext) "
                      "VALUES (?,?,?,?,?,?)",
                      [(x.content_ref, x.user_ref, x.key_id, x.ts_us, x.nonce, x.ciphertext) for x in contents])
    heads: dict[str, EventRow] = {}
    for e in events:
        seen = heads.get(e.stream)
        if seen is None or e.seq > seen.seq:
            heads[e.stream] = e
    c.executemany("INSERT INTO audit_streams (stream, head_seq, head_hash, head_ts_us) VALUES (?,?,?,?) "
                  "ON CONFLICT (stream) DO UPDATE SET head_seq = excluded.head_seq, head_hash = excluded.head_hash, "
                  "head_ts_us = excluded.head_ts_us WHERE excluded.head_seq > audit_streams.head_seq",
                  [(h.stream, h.seq, h.hash, h.ts_us) for h in heads.values()])
    for cp in checkpoints_in(events).values():
        c.execute("UPDATE audit_streams SET cp_seq = ?, cp_hash = ?, cp_sig = ?, cp_key_id = ? "
                  "WHERE stream = ? AND coalesce(cp_seq, -1) < ?",
                  (cp.seq, cp.hash, cp.sig, cp.key_id, cp.stream, cp.seq))
    c.execute("COMMIT")


def _call(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T], path: object) -> T:
    """``fn`` on ``conn``; a database error rolls back the open transaction and becomes ``StoreUnavailable``."""
    try:
        return fn(conn)
    except sqlite3.Error as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise StoreUnavailable(f"sqlite {path}: {exc}") from exc
