"""PostgreSQL audit store (asyncpg): for several replicas writing one log.

Batches go in as one ``INSERT ... SELECT FROM unnest(...)`` per table inside one transaction.
The schema is versioned in ``audit_schema`` and migrated under an advisory lock, so replicas
starting together do not race (``adapters.postgres.db``). ``?schema=NAME`` in the URL puts the tables in
their own schema.
Erasure and content writes meet on per-user advisory locks, so content written concurrently with an
erasure can never outlive it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from pathlib import Path
from typing import Any

import asyncpg

from adapters.postgres.db import SharedPool, migrate, prepare
from adapters.postgres.url import split_pg_url
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

_MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE audit_events (
            stream TEXT COLLATE "C" NOT NULL, seq BIGINT NOT NULL, event_id TEXT NOT NULL,
            ts_us BIGINT NOT NULL, kind TEXT NOT NULL, user_ref TEXT, session_id TEXT, content_ref TEXT,
            body TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (stream, seq))""",
        "CREATE INDEX audit_events_ts ON audit_events (ts_us, stream, seq)",
        "CREATE INDEX audit_events_session ON audit_events (session_id, ts_us)",
        "CREATE INDEX audit_events_user ON audit_events (user_ref, ts_us)",
        """CREATE TABLE audit_streams (
            stream TEXT COLLATE "C" PRIMARY KEY, head_seq BIGINT NOT NULL, head_hash TEXT NOT NULL,
            head_ts_us BIGINT NOT NULL, cp_seq BIGINT, cp_hash TEXT, cp_sig TEXT, cp_key_id TEXT,
            anchor_first_seq BIGINT, anchor_prev_hash TEXT, anchor_sig TEXT, anchor_key_id TEXT)""",
        """CREATE TABLE audit_keys (key_id TEXT PRIMARY KEY, user_ref TEXT NOT NULL, wrapped BYTEA NOT NULL,
            created_us BIGINT NOT NULL)""",
        "CREATE INDEX audit_keys_user ON audit_keys (user_ref, created_us)",
        """CREATE TABLE audit_content (content_ref TEXT PRIMARY KEY, user_ref TEXT NOT NULL,
            key_id TEXT NOT NULL, ts_us BIGINT NOT NULL, nonce BYTEA NOT NULL, ciphertext BYTEA NOT NULL)""",
        "CREATE INDEX audit_content_user ON audit_content (user_ref)",
        "CREATE TABLE audit_erasures (user_ref TEXT PRIMARY KEY, erased_us BIGINT NOT NULL)",
    ],
    *render([AUDIT_ROLLUP], "postgres"),   # 2: the console's rollup (derived; back-filled on its first refresh)
]

_EVENT_COLS = "stream, seq, event_id, ts_us, kind, user_ref, session_id, content_ref, body, hash"
_LOCK_MIGRATE = 0x63616E646F72  # "candor"
_LOCK_ROLLUP = 0x63616E646F73   # serialises rollup writers (compare-and-set of a stream's mark)


def _row(r: Any) -> EventRow:
    return EventRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8].encode(), r[9])


class PostgresAuditStore:
    def __init__(self, url: str, *, base_dir: Path | None = None) -> None:
        self.url = url
        self._dsn, self.schema = split_pg_url(url)
        self._pool: asyncpg.Pool | None = None
        self._shared: SharedPool | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise StoreUnavailable("the PostgreSQL audit store is not open")
        return self._pool

    async def open(self) -> None:
        def setup(conn: Any) -> Awaitable[None]:
            return migrate(conn, "audit_schema", _MIGRATIONS, stamped=False)

        try:
            self._shared, self._pool = await SharedPool.acquire(self._dsn, self.schema)
            await prepare(self._pool, self.schema, _LOCK_MIGRATE, setup)
        except (OSError, asyncpg.PostgresError) as exc:
            await self.close()
            raise StoreUnavailable(f"PostgreSQL audit store: {exc}") from exc

    async def close(self) -> None:
        shared, self._shared, self._pool = self._shared, None, None
        if shared is not None:
            await shared.release()

    async def ping(self) -> None:
        await self.pool.fetchval("SELECT max(version) FROM audit_schema")

    async def append(self, events: Sequence[EventRow], contents: Sequence[ContentRow],
                     keys: Sequence[KeyRow]) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            if contents:
                refs = sorted({x.user_ref for x in contents})
                await conn.execute("SELECT pg_advisory_xact_lock_shared(hashtextextended(u, 0)) "
                                   "FROM unnest($1::text[]) AS u", refs)
                erased = dict(await conn.fetch("SELECT user_ref, erased_us FROM audit_erasures "
                                               "WHERE user_ref = ANY($1::text[])", refs))
                if erased:
                    contents = [x for x in contents if x.ts_us > erased.get(x.user_ref, -1)]
                    used = {x.key_id for x in contents}
                    keys = [k for k in keys if k.user_ref not in erased or k.key_id in used]
            await conn.execute(
                f"INSERT INTO audit_events ({_EVENT_COLS}) SELECT * FROM unnest($1::text[], $2::bigint[], "
                "$3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[]) "
                "ON CONFLICT DO NOTHING",
                [e.stream for e in events], [e.seq for e in events], [e.event_id for e in events],
                [e.ts_us for e in events], [e.kind for e in events], [e.user_ref for e in events],
                [e.session_id for e in events], [e.content_ref for e in events],
                [e.body.decode() for e in events], [e.hash for e in events])
            if keys:
                now = events[0].ts_us if events else 0
                await conn.execute(
                    "INSERT INTO audit_keys (key_id, user_ref, wrapped, created_us) SELECT k, u, w, $4 FROM "
                    "unnest($1::text[], $2::text[], $3::bytea[]) AS t(k, u, w) ON CONFLICT DO NOTHING",
                    [k.key_id for k in keys], [k.user_ref for k in keys], [k.wrapped for k in keys], now)
            if contents:
                await conn.execute(
                    "INSERT INTO audit_content (content_ref, user_ref, key_id, ts_us, nonce, ciphertext) "
                    "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bytea[], "
                    "$6::bytea[]) ON CONFLICT DO NOTHING",
                    [x.content_ref for x in contents], [x.user_ref for x in contents],
                    [x.key_id for x in contents], [x.ts_us for x in contents], [x.nonce for x in contents],
                    [x.ciphertext for x in contents])
            heads: dict[str, EventRow] = {}
            for e in events:
                seen = heads.get(e.stream)
                if seen is None or e.seq > seen.seq:
                    heads[e.stream] = e
            await conn.executemany(
                "INSERT INTO audit_streams (stream, head_seq, head_hash, head_ts_us) VALUES ($1, $2, $3, $4) "
                "ON CONFLICT (stream) DO UPDATE SET head_seq = excluded.head_seq, head_hash = excluded.head_hash, "
                "head_ts_us = excluded.head_ts_us WHERE excluded.head_seq > audit_streams.head_seq",
                [(h.stream, h.seq, h.hash, h.ts_us) for h in heads.values()])
            for cp in checkpoints_in(events).values():
                await conn.execute("UPDATE audit_streams SET cp_seq = $1, cp_hash = $2, cp_sig = $3, cp_key_id = $4 "
                                   "WHERE stream = $5 AND coalesce(cp_seq, -1) < $1",
                                   cp.seq, cp.hash, cp.sig, cp.key_id, cp.stream)

    async def user_keys(self, user_refs: Sequence[str]) -> dict[str, KeyRow]:
        rows = await self.pool.fetch("SELECT key_id, user_ref, wrapped FROM audit_keys "
                                     "WHERE user_ref = ANY($1::text[]) ORDER BY created_us", list(user_refs))
        return {r[1]: KeyRow(r[0], r[1], bytes(r[2])) for r in rows}  # newest wins

    async def get_keys(self, key_ids: Sequence[str]) -> dict[str, KeyRow]:
        rows = await self.pool.fetch("SELECT key_id, user_ref, wrapped FROM audit_keys WHERE key_id = ANY($1::text[])",
                                     list(key_ids))
        return {r[0]: KeyRow(r[0], r[1], bytes(r[2])) for r in rows}

    async def get_content(self, refs: Sequence[str]) -> dict[str, ContentRow]:
        rows = await self.pool.fetch("SELECT content_ref, user_ref, key_id, ts_us, nonce, ciphertext "
                                     "FROM audit_content WHERE content_ref = ANY($1::text[])", list(refs))
        return {r[0]: ContentRow(r[0], r[1], r[2], r[3], bytes(r[4]), bytes(r[5])) for r in rows}

    async def erase_user(self, user_ref: str, erased_at_us: int) -> tuple[int, int]:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", user_ref)
            keys = await conn.execute("DELETE FROM audit_keys WHERE user_ref = $1", user_ref)
            contents = await conn.execute("DELETE FROM audit_content WHERE user_ref = $1", user_ref)
            await conn.execute("INSERT INTO audit_erasures (user_ref, erased_us) VALUES ($1, $2) ON CONFLICT "
                               "(user_ref) DO UPDATE SET erased_us = greatest(audit_erasures.erased_us, "
                               "excluded.erased_us)", user_ref, erased_at_us)
        return int(keys.split()[-1]), int(contents.split()[-1])

    async def streams(self) -> list[StreamInfo]:
        rows = await self.pool.fetch("SELECT stream, head_seq, head_hash, cp_seq, cp_hash, cp_sig, cp_key_id, "
                                     "anchor_first_seq, anchor_prev_hash, anchor_sig, anchor_key_id "
                                     "FROM audit_streams ORDER BY stream")
        return [StreamInfo(r[0], r[1], r[2], r[3], r[4], r[5], r[6],
                           StreamAnchor(r[0], r[7], r[8], r[9], r[10]) if r[7] is not None else None)
                for r in rows]

    async def stream_head(self, stream: str) -> tuple[int, str, int] | None:
        r = await self.pool.fetchrow("SELECT head_seq, head_hash, head_ts_us FROM audit_streams WHERE stream = $1",
                                     stream)
        return (r[0], r[1], r[2]) if r else None

    async def scan(self, after: tuple[str, int] | None, limit: int) -> list[EventRow]:
        if after is None:
            rows = await self.pool.fetch(f"SELECT {_EVENT_COLS} FROM audit_events ORDER BY stream, seq LIMIT $1",
                                         limit)
        else:
            rows = await self.pool.fetch(f"SELECT {_EVENT_COLS} FROM audit_events WHERE (stream, seq) > ($1, $2) "
                                         "ORDER BY stream, seq LIMIT $3", after[0], after[1], limit)
        return [_row(r) for r in rows]

    async def query(self, flt: EventFilter, after: Cursor | None, limit: int) -> list[EventRow]:
        where: list[str] = []
        args: list[Any] = []

        def arg(value: Any) -> str:
            args.append(value)
            return f"${len(args)}"

        for col, val in (("session_id", flt.session_id), ("user_ref", flt.user_ref), ("kind", flt.kind)):
            if val is not None:
                where.append(f"{col} = {arg(val)}")
        if flt.kinds is not None:
            where.append(f"kind = ANY({arg(list(flt.kinds))}::text[])")
        if flt.since_us is not None:
            where.append(f"ts_us >= {arg(flt.since_us)}")
        if flt.until_us is not None:
            where.append(f"ts_us < {arg(flt.until_us)}")
        if after is not None:
            where.append(f"(ts_us, stream, seq) > ({arg(after[0])}, {arg(after[1])}, {arg(after[2])})")
        sql = (f"SELECT {_EVENT_COLS} FROM audit_events {'WHERE ' + ' AND '.join(where) if where else ''} "
               f"ORDER BY ts_us, stream, seq LIMIT {arg(limit)}")
        return [_row(r) for r in await self.pool.fetch(sql, *args)]

    async def purge_plan(self, before_us: int) -> list[tuple[str, int, str]]:
        rows = await self.pool.fetch(
            "SELECT e.stream, e.seq + 1, e.hash FROM audit_events e JOIN (SELECT stream, max(seq) AS s "
            "FROM audit_events WHERE ts_us < $1 GROUP BY stream) m ON e.stream = m.stream AND e.seq = m.s "
            "ORDER BY e.stream", before_us)
        return [(r[0], r[1], r[2]) for r in rows]

    async def purge(self, anchors: Sequence[StreamAnchor]) -> int:
        deleted = 0
        async with self.pool.acquire() as conn, conn.transaction():
            for a in anchors:
                await conn.execute("DELETE FROM audit_content WHERE content_ref IN (SELECT content_ref FROM "
                                   "audit_events WHERE stream = $1 AND seq < $2 AND content_ref IS NOT NULL)",
                                   a.stream, a.first_seq)
                status = await conn.execute("DELETE FROM audit_events WHERE stream = $1 AND seq < $2",
                                            a.stream, a.first_seq)
                deleted += int(status.split()[-1])
                await conn.execute("UPDATE audit_streams SET anchor_first_seq = $1, anchor_prev_hash = $2, "
                                   "anchor_sig = $3, anchor_key_id = $4 WHERE stream = $5 "
                                   "AND coalesce(anchor_first_seq, 0) < $1",
                                   a.first_seq, a.prev_hash, a.signature, a.key_id, a.stream)
        return deleted

    # the console's rollup (middleware/audit/rollup.py): derived data beside the log, never read by verify

    async def rollup_marks(self) -> dict[str, RollupMark]:
        rows = await self.pool.fetch("SELECT stream, first_seq, read_to FROM audit_rollup_marks")
        return {r[0]: RollupMark(r[0], r[1], r[2]) for r in rows}

    async def rollup_advance(self, delta: RollupDelta) -> bool:
        d = delta
        async with self.pool.acquire() as conn, conn.transaction():
            if not await _rollup_mark_is(conn, d.stream, d.expect):
                return False
            await _rollup_add(conn, d.stream, d.counts)
            if d.alerted:
                ids = list(d.alerted)
                await conn.execute(
                    "INSERT INTO audit_rollup_alerts (event_id, stream, seq, ts_hour) SELECT e, $2, s, h FROM "
                    "unnest($1::text[], $3::bigint[], $4::bigint[]) AS t(e, s, h) ON CONFLICT DO NOTHING",
                    ids, d.stream, [d.alerted[e][0] for e in ids], [d.alerted[e][1] for e in ids])
            if d.outcomes:
                keys = list(d.outcomes)
                await conn.execute(
                    "INSERT INTO audit_rollup_outcomes (stream, seq, event_id, outcome) SELECT $1, s, e, o FROM "
                    "unnest($2::bigint[], $3::text[], $4::text[]) AS t(s, e, o) ON CONFLICT DO NOTHING",
                    d.stream, [k[0] for k in keys], [k[1] for k in keys], [d.outcomes[k] for k in keys])
            await conn.execute("INSERT INTO audit_rollup_marks (stream, first_seq, read_to) VALUES ($1, $2, $3) "
                               "ON CONFLICT (stream) DO UPDATE SET read_to = excluded.read_to",
                               d.stream, d.first_seq, d.read_to)
        return True

    async def rollup_cut(self, cut: RollupCut) -> bool:
        async with self.pool.acquire() as conn, conn.transaction():
            if not await _rollup_mark_is(conn, cut.stream, cut.expect.read_to, cut.expect.first_seq):
                return False
            if cut.hour is None:
                await conn.execute("DELETE FROM audit_rollup_counts WHERE stream = $1", cut.stream)
            else:
                await conn.execute("DELETE FROM audit_rollup_counts WHERE ts_hour <= $1 AND stream = $2",
                                   cut.hour, cut.stream)
            await _rollup_add(conn, cut.stream, cut.counts)
            for table in ("audit_rollup_alerts", "audit_rollup_outcomes"):
                await conn.execute(f"DELETE FROM {table} WHERE stream = $1 AND seq < $2", cut.stream, cut.first_seq)
            await conn.execute("UPDATE audit_rollup_marks SET first_seq = $1, read_to = $2 WHERE stream = $3",
                               cut.first_seq, cut.read_to, cut.stream)
        return True

    async def rollup_reset(self) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_ROLLUP)
            await conn.execute("DELETE FROM audit_rollup_counts; DELETE FROM audit_rollup_alerts; "
                               "DELETE FROM audit_rollup_outcomes; DELETE FROM audit_rollup_marks")

    async def rollup_read(self, first_hour: int, hours: int, step_hours: int) -> RollupFigures:
        async with self.pool.acquire() as conn:
            counts = await conn.fetch(
                "SELECT (ts_hour - $1) / $2, grp, name, sum(n)::bigint FROM audit_rollup_counts "
                "WHERE ts_hour >= $1 AND ts_hour < $3 GROUP BY 1, 2, 3", first_hour, step_hours, first_hour + hours)
            alerts = await conn.fetch(
                "SELECT r, count(*) FROM (SELECT a.event_id, max(CASE o.outcome WHEN 'delivered' THEN 2 "
                "WHEN 'gave_up' THEN 1 ELSE 0 END) AS r FROM audit_rollup_alerts a LEFT JOIN audit_rollup_outcomes o "
                "ON o.event_id = a.event_id WHERE a.ts_hour >= $1 AND a.ts_hour < $2 GROUP BY a.event_id) t "
                "GROUP BY r", first_hour, first_hour + hours)
        return RollupFigures([(r[0], r[1], r[2], r[3]) for r in counts], {RANKED[r[0]]: r[1] for r in alerts})


async def _rollup_mark_is(conn: Any, stream: str, read_to: int, first_seq: int | None = None) -> bool:
    """Inside the transaction, under the lock that serialises rollup writers: is the stream's mark still this?"""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_ROLLUP)
    row = await conn.fetchrow("SELECT first_seq, read_to FROM audit_rollup_marks WHERE stream = $1", stream)
    if row is None:
        return read_to == 0 and first_seq is None
    return bool(row[1] == read_to and (first_seq is None or row[0] == first_seq))


async def _rollup_add(conn: Any, stream: str, counts: Mapping[tuple[int, str, str], int]) -> None:
    keys = list(counts)
    await conn.execute(
        "INSERT INTO audit_rollup_counts (ts_hour, stream, grp, name, n) SELECT h, $1, g, k, n FROM "
        "unnest($2::bigint[], $3::text[], $4::text[], $5::bigint[]) AS t(h, g, k, n) "
        "ON CONFLICT (ts_hour, stream, grp, name) DO UPDATE SET n = audit_rollup_counts.n + excluded.n",
        stream, [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys], [counts[k] for k in keys])
