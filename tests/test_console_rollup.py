"""The overview's rollup kept in the audit database (middleware/audit/rollup.py, the stores' ``rollup_*``), on
SQLite and a real PostgreSQL: on randomised logs it gives exactly the figures a from-scratch count gives (the
in-memory rollup the console had before, kept below as the oracle), per day and per hour, over any period;
after appends from another process, after an erasure of content, after a purge; a log written before the
rollup existed is back-filled on its first refresh; racing refreshes never count an event twice; and
``audit verify`` neither reads it nor is affected by it."""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest

import adapters.postgres.audit as pg_audit
import adapters.sqlite.audit as sqlite_audit
from middleware.audit.events import GENESIS, EventDraft, canonical_json, event_hash, format_ts_us, new_event_id
from middleware.audit.keys import AuditKeys
from middleware.audit.rollup import MemoryRollupStore, RollupDelta, RollupStore
from middleware.audit.store import AuditStore, EventRow, StreamAnchor
from middleware.audit.verify import verify_store
from middleware.console.overview import DAY_US, HOUR_US, Period, Rollup, compute_overview, period_of
from tests.test_audit_support import Backend, backend_fixture, fresh_store, keys_fixture, open_log  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent


class Oracle:
    """The console's rollup as it was before it moved into the database (counts every event from scratch)."""

    _TRAFFIC = frozenset(("exchange", "crisis", "exit"))

    def __init__(self) -> None:
        self.hours: dict[int, Counter[tuple[str, str]]] = defaultdict(Counter)
        self.categories: dict[int, Counter[str]] = defaultdict(Counter)
        self.alerted: dict[str, int] = {}
        self.final: dict[str, str] = {}

    @classmethod
    async def of(cls, store: AuditStore) -> Oracle:
        oracle, after = cls(), None
        while rows := await store.scan(after, 1000):
            for row in rows:
                oracle.add(row)
            after = (rows[-1].stream, rows[-1].seq)
        return oracle

    def add(self, row: EventRow) -> None:
        kind, hour = row.kind, row.ts_us // HOUR_US
        counts = self.hours[hour]
        counts["kind", kind] += 1
        if kind == "checkpoint":
            return
        ev = orjson.loads(row.body)
        decisions = ev["decisions"] or ()
        if kind in self._TRAFFIC:
            counts["traffic", "exchange"] += 1
            for note in ev["notices"] or ():
                counts["notices", str(note.get("kind"))] += 1
            for d in decisions:
                rule = d.get("rule")
                if rule == "labels":
                    counts["labelling", str(d.get("outcome"))] += 1
                elif rule == "crisis" and kind == "crisis":
                    detail = d.get("detail") or {}
                    counts["crisis_levels", str(detail.get("level") or "unknown")] += 1
                    self.categories[hour][str(detail.get("category") or "unknown")] += 1
                    if detail.get("alerted") is True:
                        self.alerted[row.event_id] = hour
        elif kind in ("refusal", "error"):
            code = next((str(d["detail"]["code"]) for d in decisions
                         if isinstance(d.get("detail"), dict) and d["detail"].get("code")), f"http_{ev['status']}")
            counts["traffic", f"{kind}:{code}"] += 1
        elif kind in ("consent_change", "persona_change"):
            counts["changes", f"{kind}:{decisions[0].get('outcome') if decisions else '-'}"] += 1
        elif kind == "unlabeled_delivery":
            counts["labelling", "unlabeled_delivery_event"] += 1
        elif kind == "alert_delivery":
            for d in decisions:
                detail = d.get("detail") or {}
                eid, outcome = detail.get("event_id"), d.get("outcome")
                if eid and outcome in ("delivered", "gave_up") and self.final.get(eid) != "delivered":
                    self.final[str(eid)] = str(outcome)

    def figures(self, period: Period) -> dict[str, Any]:
        step_hours = period.step // HOUR_US
        first_hour, n = period.start // HOUR_US, period.buckets
        series: dict[str, dict[str, list[int]]] = {k: {} for k in
                                                   ("traffic", "notices", "crisis_levels", "changes", "labelling")}
        kinds: Counter[str] = Counter()
        categories: Counter[str] = Counter()
        for hour in range(first_hour, first_hour + n * step_hours):
            counts = self.hours.get(hour)
            if not counts:
                continue
            i = (hour - first_hour) // step_hours
            for (group, name), value in counts.items():
                if group == "kind":
                    kinds[name] += value
                    continue
                series[group].setdefault(name, [0] * n)[i] += value
            categories.update(self.categories.get(hour, {}))
        alerted = [e for e, hour in self.alerted.items() if first_hour <= hour < first_hour + n * step_hours]
        outcomes = Counter(self.final[e] for e in alerted if e in self.final)
        return {
            "labels": period.labels(),
            **{name: dict(sorted(values.items())) for name, values in series.items()},
            "crisis_categories": dict(categories.most_common()),
            "alerts": {"delivered": outcomes["delivered"], "pending": len(alerted) - sum(outcomes.values()),
                       "gave_up": outcomes["gave_up"]},
            "totals": {"events": sum(kinds.values()), "by_kind": dict(sorted(kinds.items()))},
        }


def random_draft(rng: random.Random, crises: list[str]) -> EventDraft:
    """One event of a random mix, with the odd shapes the counter must take (no code, no level, ...)."""
    base: dict[str, Any] = {"event_id": new_event_id(), "user_id": f"u{rng.randrange(5)}", "session_id": "s"}
    pick = rng.random()
    if pick < 0.45:
        kind = rng.choice(("exchange", "exchange", "exit"))
        notices = [{"kind": rng.choice(("ai_disclosure", "usage_reminder", "dependence", "reality")), "text": "."}
                   for _ in range(rng.randrange(3))]
        label = rng.choice(("labelled", "delegated", "unlabeled"))
        return EventDraft(kind=kind, notices=notices, status=200, decisions=[
            {"rule": "labels", "cites": [], "outcome": label, "detail": {}}] if rng.random() < 0.8 else [], **base)
    if pick < 0.6:
        kind = rng.choice(("refusal", "error"))
        detail = {"code": rng.choice(("user_blocked", "likeness_consent_required"))} if rng.random() < 0.7 else {}
        return EventDraft(kind=kind, status=rng.choice((403, 502)), decisions=[
            {"rule": "refusal", "cites": [], "outcome": "refused", "detail": detail}], **base)
    if pick < 0.75:
        detail = {"level": rng.choice(("explicit_intent", "distress", None)),
                  "category": rng.choice(("self_harm", "emotional", None)),
                  "alerted": rng.choice((True, False, "yes"))}
        draft = EventDraft(kind="crisis", status=200, decisions=[
            {"rule": "crisis", "cites": [], "outcome": "replaced", "detail": detail}],
            notices=[{"kind": "crisis_support", "text": "."}], **base)
        crises.append(draft.event_id)
        return draft
    if pick < 0.87:
        target = rng.choice(crises) if crises and rng.random() < 0.9 else new_event_id()   # some name no crisis yet
        return EventDraft(kind="alert_delivery", status=200, decisions=[
            {"rule": "alert_delivery", "cites": [], "outcome": rng.choice(("delivered", "gave_up", "retry")),
             "detail": {"event_id": target, "attempt": 1}}], **base)
    kind = rng.choice(("consent_change", "persona_change", "unlabeled_delivery", "console"))
    decisions = [] if rng.random() < 0.2 else [{"rule": kind, "cites": [], "outcome": rng.choice(("add", "revoke")),
                                                "detail": {}}]
    return EventDraft(kind=kind, decisions=decisions, **base)


class Writer:
    """Seals random events into valid chains of several streams, at times spread over ten days."""

    def __init__(self, store: AuditStore, seed: int) -> None:
        self.store, self.rng, self.keys = store, random.Random(seed), AuditKeys.generate()
        self.heads: dict[str, tuple[int, str, int]] = {}
        self.crises: list[str] = []
        self.now = time.time_ns() // 1000

    async def write(self, n: int, streams: tuple[str, ...] = ("a", "b", "c")) -> None:
        rows: list[EventRow] = []
        for _ in range(n):
            stream = self.rng.choice(streams)
            seq, prev, ts = self.heads.get(stream, (0, GENESIS, self.now - 10 * DAY_US))
            ts = min(ts + self.rng.randrange(0, 3 * HOUR_US), self.now)
            d = random_draft(self.rng, self.crises)
            body = canonical_json({
                "event_id": d.event_id, "seq": seq + 1, "stream": stream, "ts": format_ts_us(ts), "kind": d.kind,
                "app_id": "a", "user_ref": self.keys.user_ref(d.user_id), "session_id": d.session_id,
                "persona_id": None, "policy_id": None, "policy_version": None, "decisions": d.decisions,
                "notices": d.notices, "status": d.status, "latency_ms": None, "upstream_model": None,
                "content_ref": None, "prev_hash": prev})
            h = event_hash(body)
            rows.append(EventRow(stream, seq + 1, d.event_id, ts, d.kind, None, "s", None, body, h))
            self.heads[stream] = (seq + 1, h, ts)
        for i in range(0, len(rows), 97):
            await self.store.append(rows[i:i + 97], [], [])


def periods(now: int) -> list[Period]:
    return [period_of(None, None, "day", now), period_of(None, None, "hour", now),
            period_of(now - 12 * DAY_US, now + 1, "day", now), period_of(now - 11 * DAY_US, now + 1, "hour", now),
            period_of(now - 5 * DAY_US - 7 * HOUR_US, now - 2 * DAY_US, "hour", now),
            period_of(now - 9 * DAY_US + 123, now - 3 * DAY_US, "day", now)]


async def assert_same(store: AuditStore, rollup: Rollup) -> None:
    oracle = await Oracle.of(store)
    for period in periods(time.time_ns() // 1000):
        got = await rollup.figures(period)
        del got["period"]
        assert got == oracle.figures(period), period


async def test_randomised_logs_match_a_count_from_scratch(backend: Backend) -> None:
    store = await fresh_store(backend)
    assert isinstance(store, RollupStore)
    try:
        writer, rollup = Writer(store, seed=17), Rollup()
        for n in (300, 1, 0, 57, 450):      # refreshed between appends: each counts only the new events
            await writer.write(n)
            assert await rollup.refresh(store) == n
            await assert_same(store, rollup)
        # a fresh process (no memory of its own) reads the same figures from the database, counting nothing
        again = Rollup()
        assert await again.refresh(store) == 0
        await assert_same(store, again)
        assert again.memory.marks == {}        # nothing kept in memory
    finally:
        await store.close()


async def test_appends_from_another_process_are_counted(backend: Backend) -> None:
    store = await fresh_store(backend)
    try:
        writer, rollup = Writer(store, seed=5), Rollup()
        await writer.write(200)
        await rollup.refresh(store)
        code = ("import asyncio, sys\n"
                "from tests.test_console_rollup import Writer\n"
                "from tests.test_audit_support import Backend\n"
                "from pathlib import Path\n"
                "async def main():\n"
                "    store = Backend(sys.argv[1], sys.argv[2], Path(sys.argv[3])).store()\n"
                "    await store.open()\n"
                "    await Writer(store, seed=6).write(150, streams=('other-process',))\n"
                "    await store.close()\n"
                "asyncio.run(main())\n")
        proc = await asyncio.create_subprocess_exec(sys.executable, "-c", code, backend.name, backend.url,
                                                    str(backend.tmp), cwd=ROOT,
                                                    env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert await asyncio.wait_for(proc.wait(), 120) == 0
        assert await rollup.refresh(store) == 150
        await assert_same(store, rollup)
    finally:
        await store.close()


async def test_racing_refreshes_never_count_an_event_twice(backend: Backend) -> None:
    stores = [await fresh_store(backend) for _ in range(3)]     # three "processes", each its own connections
    try:
        writer = Writer(stores[0], seed=9)
        await writer.write(2000)
        counted = await asyncio.gather(*(Rollup().refresh(s) for s in stores))
        assert sum(counted) == 2000           # each event counted by exactly one of them
        reader = Rollup()
        assert await reader.refresh(stores[1]) == 0
        await assert_same(stores[0], reader)
    finally:
        for s in stores:
            await s.close()


async def test_a_stale_delta_changes_nothing(backend: Backend) -> None:
    store = await fresh_store(backend)
    assert isinstance(store, RollupStore)
    try:
        first = RollupDelta("s", 0, 1, 10)
        first.counts[1000, "kind", "exchange"] = 10
        assert await store.rollup_advance(first)
        stale = RollupDelta("s", 0, 1, 10)     # counted the same events, but the mark has moved on
        stale.counts[1000, "kind", "exchange"] = 10
        assert not await store.rollup_advance(stale)
        read = await store.rollup_read(1000, 1, 1)
        assert read.counts == [(0, "kind", "exchange", 10)]
        assert (await store.rollup_marks())["s"].read_to == 10
        await store.rollup_reset()
        assert await store.rollup_marks() == {} and (await store.rollup_read(1000, 1, 1)).counts == []
    finally:
        await store.close()


async def test_alert_outcomes_merge_in_any_order(backend: Backend) -> None:
    store = await fresh_store(backend)
    assert isinstance(store, RollupStore)
    try:
        steps: list[tuple[str, dict[str, tuple[int, int]], dict[tuple[int, str], str]]] = [
            ("s", {"c1": (1, 5), "c2": (1, 5), "c3": (1, 6)}, {}),
            ("s", {}, {(2, "c1"): "gave_up", (2, "c2"): "delivered"}),
            ("t", {}, {(1, "c1"): "delivered", (1, "c2"): "gave_up", (1, "c4"): "gave_up"}),
            ("t", {"c4": (2, 5)}, {})]
        marks: dict[str, int] = {}
        for stream, alerted, outcomes in steps:
            at = marks.get(stream, 0)
            delta = RollupDelta(stream, at, at + 1, at + 1, alerted=alerted, outcomes=outcomes)
            assert await store.rollup_advance(delta)
            marks[stream] = at + 1
        assert (await store.rollup_read(5, 1, 1)).alerts == {"delivered": 2, "gave_up": 1}
        assert (await store.rollup_read(5, 2, 1)).alerts == {"delivered": 2, "gave_up": 1, None: 1}
    finally:
        await store.close()


async def test_purges_are_taken_out_without_counting_the_log_again(backend: Backend) -> None:
    store = await fresh_store(backend)
    assert isinstance(store, RollupStore)
    try:
        writer, rollup = Writer(store, seed=23), Rollup()
        await writer.write(900)
        assert await rollup.refresh(store) == 900
        rng = random.Random(4)
        start = writer.now - 10 * DAY_US
        for cut_at in sorted(rng.randrange(start, writer.now) for _ in range(3)):
            plan = await store.purge_plan(cut_at)    # as retention does: per stream, below the first kept event
            await store.purge([StreamAnchor(s, first, prev, "sig", "k") for s, first, prev in plan])
            if rng.random() < 0.5:
                await writer.write(40)
            # only the events written since are read: the purge itself costs at most an hour of one stream
            assert await rollup.refresh(store) in (0, 40)
            await assert_same(store, rollup)
        plan = await store.purge_plan(writer.now + 1)     # every event of every stream
        await store.purge([StreamAnchor(s, first, prev, "sig", "k") for s, first, prev in plan])
        await rollup.refresh(store)
        await assert_same(store, rollup)
        assert (await rollup.figures(period_of(None, None, "day")))["totals"]["events"] == 0
        await writer.write(30)
        assert await rollup.refresh(store) == 30
        await assert_same(store, rollup)
    finally:
        await store.close()


async def test_a_purge_beyond_what_was_counted(backend: Backend) -> None:
    store = await fresh_store(backend)
    try:
        writer, rollup = Writer(store, seed=8), Rollup()
        await writer.write(100, streams=("a",))
        await rollup.refresh(store)
        await writer.write(100, streams=("a",))       # not counted yet when the purge comes
        _, _, ts = writer.heads["a"]
        plan = await store.purge_plan(ts - HOUR_US)
        assert plan and plan[0][1] > 100
        await store.purge([StreamAnchor(s, first, prev, "sig", "k") for s, first, prev in plan])
        await rollup.refresh(store)
        await assert_same(store, rollup)
    finally:
        await store.close()


async def test_a_log_written_before_the_rollup_is_back_filled(backend: Backend,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    module: Any = sqlite_audit if backend.name == "sqlite" else pg_audit
    with monkeypatch.context() as m:
        m.setattr(module, "_MIGRATIONS", module._MIGRATIONS[:1])    # the schema before the rollup
        old = await fresh_store(backend)
        await Writer(old, seed=3).write(700)
        await old.close()
    assert not await backend.sql("SELECT version FROM audit_schema WHERE version = 2")
    store = await fresh_store(backend)                               # migrates: empty rollup tables
    try:
        assert await backend.sql("SELECT version FROM audit_schema WHERE version = 2")
        rollup = Rollup()
        assert await rollup.refresh(store) == 700                   # the first view counts the whole log
        await assert_same(store, rollup)
    finally:
        await store.close()


async def test_erasing_content_changes_no_count(backend: Backend, keys: AuditKeys) -> None:
    log = await open_log(backend, keys)
    try:
        for i in range(30):
            await log.append(EventDraft(new_event_id(), "exchange", user_id=f"u{i % 3}", session_id="s",
                                        content={"messages": [{"role": "user", "content": f"hi {i}"}]},
                                        notices=[{"kind": "ai_disclosure", "text": "AI"}]))
        rollup = Rollup()
        await rollup.refresh(log.store)
        before = await rollup.figures(period_of(None, None, "hour"))
        await log.erase_user("u1")
        await rollup.refresh(log.store)       # the erasure's own audit event is counted, nothing else moves
        after = await rollup.figures(period_of(None, None, "hour"))
        assert after["traffic"] == before["traffic"] and after["notices"] == before["notices"]
        assert after["totals"]["events"] == before["totals"]["events"] + 1
        await assert_same(log.store, rollup)
        fresh = Rollup()
        assert await fresh.refresh(log.store) == 0
        await assert_same(log.store, fresh)       # and from the database alone
    finally:
        await log.close()


async def test_a_purge_through_the_log_leaves_the_kept_events_counts(backend: Backend, keys: AuditKeys) -> None:
    log = await open_log(backend, keys)
    try:
        for _ in range(8):
            await log.append(EventDraft(new_event_id(), "exchange", user_id="u", session_id="s"))
        rollup = Rollup()
        await rollup.refresh(log.store)
        await asyncio.sleep(0.01)
        await log.purge(0.001)
        for _ in range(2):
            await log.append(EventDraft(new_event_id(), "exchange", user_id="u", session_id="s"))
        await Rollup().refresh(log.store)            # another process notices the purge first
        await rollup.refresh(log.store)
        out = await rollup.figures(period_of(None, None, "day"))
        assert sum(out["traffic"]["exchange"]) == 2 and out["totals"]["by_kind"]["purge"] == 1
        await assert_same(log.store, rollup)
    finally:
        await log.close()


async def test_verify_never_reads_the_rollup(backend: Backend, keys: AuditKeys) -> None:
    log = await open_log(backend, keys)
    try:
        for _ in range(5):
            await log.append(EventDraft(new_event_id(), "exchange", user_id="u", session_id="s"))
        await compute_overview(log.store, period_of(None, None, "day"), Rollup())
        await backend.sql("UPDATE audit_rollup_counts SET n = n + 1000")          # derived data gone wrong
        await backend.sql("DELETE FROM audit_rollup_marks WHERE stream = ?", log.stream)
        result = await verify_store(log.store, {keys.key_id: keys.public})
        assert result.ok, result.problems
        assert isinstance(log.store, RollupStore)
        await log.store.rollup_reset()               # and it is rebuilt from the events alone
        rollup = Rollup()
        await rollup.refresh(log.store)
        await assert_same(log.store, rollup)
    finally:
        await log.close()


async def test_a_store_without_a_rollup_counts_in_memory(tmp_path: Path) -> None:
    from tests.test_audit_support import FaultyStore

    inner = sqlite_audit.SQLiteAuditStore(f"sqlite:///{tmp_path}/a.db")
    await inner.open()
    try:
        await Writer(inner, seed=1).write(120)

        class Plain:         # the audit store protocol and nothing more
            url = inner.url

            def __getattr__(self, name: str) -> Any:
                if name.startswith("rollup_"):
                    raise AttributeError(name)
                return getattr(inner, name)

        plain: Any = Plain()
        assert not isinstance(plain, RollupStore) and isinstance(FaultyStore(inner), RollupStore)
        rollup = Rollup(MemoryRollupStore())
        assert await rollup.refresh(plain) == 120 and await rollup.refresh(plain) == 0
        assert len(rollup.memory.marks) == 3
        await assert_same(inner, rollup)
        assert await inner.rollup_marks() == {}      # nothing was written to the database
    finally:
        await inner.close()


async def test_an_audit_log_with_real_streams_matches(backend: Backend, keys: AuditKeys) -> None:
    logs = [await open_log(backend, keys, stream=f"w{i}") for i in range(2)]
    try:
        rng, crises = random.Random(11), []
        for i in range(120):
            await logs[i % 2].append(random_draft(rng, crises))
        rollup = Rollup()
        await rollup.refresh(logs[0].store)
        await assert_same(logs[0].store, rollup)
        assert (await rollup.figures(period_of(None, None, "day")))["totals"]["by_kind"]["checkpoint"] >= 2
    finally:
        for log in logs:
            await log.close()


async def test_a_serving_process_back_fills_after_start_up_without_a_view(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from adapters.root import build_app
    from middleware.config.deployment import load_config

    url = f"sqlite:///{tmp_path}/audit.db"
    with monkeypatch.context() as m:
        m.setattr(sqlite_audit, "_MIGRATIONS", sqlite_audit._MIGRATIONS[:1])    # a log from before the rollup
        old = sqlite_audit.SQLiteAuditStore(url)
        await old.open()
        await Writer(old, seed=21).write(400)
        await old.close()
    (tmp_path / "policies").mkdir()
    (tmp_path / "candor.yaml").write_text(f"audit: {{url: '{url}'}}\npolicies_dir: {tmp_path}/policies\n")
    app = build_app(load_config(tmp_path / "candor.yaml", environ={}))
    probe = sqlite_audit.SQLiteAuditStore(url)
    async with app.app.router.lifespan_context(app.app):
        await probe.open()
        try:
            for _ in range(600):      # nobody opens the console: start-up alone counts the log
                marks = await probe.rollup_marks()
                heads = {i.stream: i.head_seq for i in await probe.streams()}
                if all(s in marks and marks[s].read_to == heads[s] for s in "abc"):
                    break
                await asyncio.sleep(0.05)
            else:
                pytest.fail(f"not back-filled: {marks} vs {heads}")
        finally:
            await probe.close()
    tasks = [t for t in asyncio.all_tasks() if "keep_up" in repr(t.get_coro())]
    assert not tasks                  # shut down with the app


async def test_keep_up_survives_a_store_that_is_down() -> None:
    rollup, calls = Rollup(), 0

    def store_of() -> AuditStore:
        nonlocal calls
        calls += 1
        raise RuntimeError("the audit log is not open")

    task = asyncio.create_task(rollup.keep_up(store_of, every=0.01))
    async with asyncio.timeout(30):   # a few rounds, however busy the machine
        while calls <= 3 and not task.done():  # noqa: ASYNC110 (a counter in a callback)
            await asyncio.sleep(0.01)
    assert not task.done() and calls > 3
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
