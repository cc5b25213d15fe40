"""The rollup port's in-memory implementation (middleware/audit/rollup.py): compare-and-set of the watermark,
alert outcomes by rank, a purge cut per stream. The database stores are held to the same behaviour in
tests/test_console_rollup.py."""

from __future__ import annotations

from collections import Counter

from middleware.audit.rollup import MemoryRollupStore, RollupCut, RollupDelta, RollupMark, alert_rank


def delta(stream: str, expect: int, first: int, read_to: int, **counts: int) -> RollupDelta:
    d = RollupDelta(stream, expect, first, read_to)
    for key, n in counts.items():
        hour, name = key.split("_", 1)
        d.counts[int(hour[1:]), "kind", name] = n
    return d


async def test_deltas_apply_only_where_the_watermark_stands() -> None:
    store = MemoryRollupStore()
    assert await store.rollup_advance(delta("s", 0, 1, 5, h10_exchange=5))
    assert not await store.rollup_advance(delta("s", 0, 1, 5, h10_exchange=5))      # counted already
    assert not await store.rollup_advance(delta("s", 3, 4, 8, h10_exchange=5))      # a gap or an overlap
    assert await store.rollup_advance(delta("s", 5, 1, 7, h11_exchange=2))
    assert await store.rollup_marks() == {"s": RollupMark("s", 1, 7)}
    read = await store.rollup_read(10, 2, 1)
    assert sorted(read.counts) == [(0, "kind", "exchange", 5), (1, "kind", "exchange", 2)]
    assert (await store.rollup_read(10, 2, 2)).counts == [(0, "kind", "exchange", 7)]


def test_an_outcome_once_delivered_stays_delivered() -> None:
    d = RollupDelta("s", 0, 1, 1)
    for outcome in ("gave_up", "delivered", "retry", "gave_up"):
        d.outcome(1, "c", outcome)
    d.outcome(2, "c", "retry")                 # not final: not kept
    assert d.outcomes == {(1, "c"): "delivered"}
    assert [alert_rank(o) for o in ("delivered", "gave_up", None)] == [2, 1, 0]


async def test_a_cut_takes_out_one_streams_older_hours() -> None:
    store = MemoryRollupStore()
    a = delta("a", 0, 1, 9, h1_exchange=3, h2_exchange=3, h3_exchange=3)
    a.alerted = {"crisis-old": (2, 1), "crisis-new": (8, 3)}
    a.outcomes = {(3, "crisis-new"): "delivered"}
    assert await store.rollup_advance(a)
    assert await store.rollup_advance(delta("b", 0, 1, 3, h1_exchange=3))
    mark = (await store.rollup_marks())["a"]
    stale = RollupCut("a", RollupMark("a", 1, 8), 5, 9, 2, Counter({(2, "kind", "exchange"): 1}))
    assert not await store.rollup_cut(stale)
    # events 1..4 of "a" deleted: hour 1 gone, hour 2 keeps one event, hour 3 untouched; "b" untouched
    assert await store.rollup_cut(RollupCut("a", mark, 5, 9, 2, Counter({(2, "kind", "exchange"): 1})))
    read = await store.rollup_read(1, 3, 1)
    assert sorted(read.counts) == [(0, "kind", "exchange", 3), (1, "kind", "exchange", 1), (2, "kind", "exchange", 3)]
    assert read.alerts == {None: 1}            # the kept crisis; its delivery event (seq 3) was deleted
    assert await store.rollup_marks() == {"a": RollupMark("a", 5, 9), "b": RollupMark("b", 1, 3)}
    assert await store.rollup_cut(RollupCut("a", RollupMark("a", 5, 9), 10, 9, None))    # all of "a" deleted
    assert sorted((await store.rollup_read(1, 3, 1)).counts) == [(0, "kind", "exchange", 3)]
    await store.rollup_reset()
    assert await store.rollup_marks() == {} and (await store.rollup_read(1, 3, 1)).counts == []
