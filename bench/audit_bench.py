"""Audit log throughput: events/s appended by concurrent callers (SQLite, PostgreSQL) and verify events/s.

    .venv/bin/python bench/audit_bench.py [--events 50000] [--concurrency 256] [--pg-dsn DSN] [--no-pg]
                                          [--with-begin]

``--with-begin``: every exchange is preceded by its ``stream_begin`` record, each awaited before the
next as a streamed reply does (two durable appends per exchange); events/s counts both.

Each event looks like a real exchange (three decisions, a notice, encrypted content of a short
conversation). Appends are committed when they return (SQLite in both synchronous modes, PostgreSQL commit).
Prints a Markdown table for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.root import audit_store as open_store
from middleware.audit.events import EventDraft, new_event_id
from middleware.audit.keys import AuditKeys
from middleware.audit.log import AuditLog, LogSettings
from middleware.audit.store import AuditStore
from middleware.audit.verify import verify_store


def make_draft(i: int, content: bool) -> EventDraft:
    return EventDraft(
        event_id=new_event_id(), kind="exchange", app_id="bench-app", user_id=f"user-{i % 5000}",
        session_id=f"session-{i % 20000}", persona_id="companion", policy_id="cn-anthropomorphic-2026",
        policy_version="sha256:0123456789abcdef", status=200, latency_ms=312.5, upstream_model="openai/gpt-4o-mini",
        decisions=[
            {"rule": "disclosure", "cites": ["ANTH-DISC-1"], "outcome": "applied", "detail": {"age_band": "adult"}},
            {"rule": "human_claims", "cites": ["ANTH-DISC-2"], "outcome": "pass", "detail": {}},
            {"rule": "labels", "cites": ["LABEL-EXPLICIT-1"], "outcome": "applied", "detail": {"position": "prepend"}},
        ],
        notices=[{"kind": "ai_disclosure", "display": "popup"}],
        content={"messages": [{"role": "user", "content": "今天过得怎么样？" * 4}], "reply": "I'm an AI. " * 10}
        if content else None,
        fail_mode="closed")


def begin_draft(exchange: EventDraft) -> EventDraft:
    return EventDraft(
        event_id=new_event_id(), kind="stream_begin", app_id=exchange.app_id, user_id=exchange.user_id,
        session_id=exchange.session_id, persona_id=exchange.persona_id, policy_id=exchange.policy_id,
        policy_version=exchange.policy_version, upstream_model=exchange.upstream_model,
        decisions=[{"rule": "stream.begin", "cites": ["ANTH-LOG-1"], "outcome": "begun",
                    "detail": {"exchange_event_id": exchange.event_id}}], fail_mode="closed")


async def append_bench(store: AuditStore, tmp: Path, events: int, concurrency: int, content: bool,
                       with_begin: bool = False) -> tuple[float, float]:
    keys = AuditKeys.generate()
    log = await AuditLog.start(store, keys, LogSettings(spool_dir=tmp / "spool", checkpoint_every=1000))
    per = events // concurrency // (2 if with_begin else 1)
    drafts = [[make_draft(c * per + i, content) for i in range(per)] for c in range(concurrency)]
    begins = [[begin_draft(d) for d in mine] for mine in drafts] if with_begin else None

    async def caller(c: int) -> None:
        for i, d in enumerate(drafts[c]):
            if begins is not None:
                await log.append(begins[c][i])   # durable before the reply's first byte
            await log.append(d)

    started = time.perf_counter()
    await asyncio.gather(*(caller(c) for c in range(concurrency)))
    elapsed = time.perf_counter() - started
    await log.close()
    verify_keys = {keys.key_id: keys.public}
    await store.open()
    result = await verify_store(store, verify_keys)
    await store.close()
    assert result.ok, result.problems[:3]
    appended = per * concurrency * (2 if with_begin else 1)
    return appended / elapsed, result.events / result.seconds


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=50_000)
    ap.add_argument("--concurrency", type=int, default=256)
    ap.add_argument("--pg-dsn", default=os.environ.get("CANDOR_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--no-content", action="store_true")
    ap.add_argument("--with-begin", action="store_true", help="a stream_begin record before every exchange")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for mode in ("normal", "full"):
            store = open_store(f"sqlite:///{tmp}/audit-{mode}.db?synchronous={mode}")
            rate, vrate = await append_bench(store, tmp, args.events, args.concurrency, not args.no_content,
                                                args.with_begin)
            label = "default: committed to the WAL" if mode == "normal" else "fsync per commit"
            rows.append((f"SQLite (WAL, synchronous={mode}; {label})", rate, vrate))
        if not args.no_pg:
            import asyncpg

            schema = f"audit_bench_{os.getpid()}"
            store = open_store(f"{args.pg_dsn}{'&' if '?' in args.pg_dsn else '?'}schema={schema}")
            try:
                rate, vrate = await append_bench(store, tmp, args.events, args.concurrency, not args.no_content,
                                                args.with_begin)
                rows.append(("PostgreSQL (asyncpg)", rate, vrate))
            finally:
                conn = await asyncpg.connect(args.pg_dsn)
                await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
                await conn.close()
    print(f"{args.events:,} events, {args.concurrency} concurrent appenders, "
          f"content {'off' if args.no_content else 'encrypted per user'}, checkpoint every 1,000"
          f"{', a stream_begin before every exchange' if args.with_begin else ''}\n")
    print("| store | append events/s (durable) | verify events/s |")
    print("|---|---:|---:|")
    for name, rate, vrate in rows:
        print(f"| {name} | {rate:,.0f} | {vrate:,.0f} |")


if __name__ == "__main__":
    asyncio.run(main())
