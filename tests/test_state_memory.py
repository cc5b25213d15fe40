"""The in-process state store (adapters.state.memory) and the store factory."""

from __future__ import annotations

import asyncio

import pytest

from adapters.state.memory import MemoryStateStore
from adapters.wiring.state import open_state_store
from middleware.state import ClockParams, Observation, StateStore, StateStoreError

T0 = 1_772_416_800.0  # 2026-03-02 10:00 in Beijing
H, M = 3600.0, 60.0
PARAMS = ClockParams(remind_every=2 * H, idle_reset=30 * M, relogin_gap=12 * H)


async def test_memory_store_is_a_state_store() -> None:
    assert isinstance(MemoryStateStore(), StateStore)


async def test_memory_store_keeps_users_apart_and_applies_the_clocks() -> None:
    store = MemoryStateStore()
    first = await store.observe("app:alice", Observation(T0), PARAMS)
    again = await store.observe("app:alice", Observation(T0 + M), PARAMS)
    bob = await store.observe("app:bob", Observation(T0 + M), PARAMS)
    assert (first.disclose, again.disclose, bob.disclose) == (True, False, True)
    assert again.session_id == first.session_id != bob.session_id
    reminders = [t for t in range(600, int(2 * H) + 1, 600)
                 if (await store.observe("app:alice", Observation(T0 + t), PARAMS)).usage_reminder]
    assert reminders == [7200]
    snapshot = await store.snapshot("app:alice")
    assert snapshot is not None and snapshot.usage_reminders == 1


async def test_end_session_makes_the_next_message_a_relogin() -> None:
    store = MemoryStateStore()
    await store.observe("u", Observation(T0, "chat"), PARAMS)
    await store.end_session("u")
    await store.end_session("nobody")  # unknown users are fine
    back = await store.observe("u", Observation(T0 + M, "chat"), PARAMS)
    assert (back.new_session, back.relogin, back.disclose) == (True, True, True)


async def test_concurrent_requests_across_the_threshold_get_exactly_one_reminder() -> None:
    store = MemoryStateStore()
    for t in range(0, int(2 * H) - 60, 600):  # almost two hours of continuous use
        await store.observe("u", Observation(T0 + t), PARAMS)
    times = [T0 + 2 * H - 50 + i * 0.25 for i in range(400)]
    decisions = await asyncio.gather(*(store.observe("u", Observation(t), PARAMS) for t in reversed(times)))
    assert sum(d.usage_reminder for d in decisions) == 1


async def test_idle_users_are_forgotten_after_the_ttl() -> None:
    store = MemoryStateStore(ttl=3 * 86400)
    await store.observe("old", Observation(T0), PARAMS)
    await store.observe("recent", Observation(T0 + 2 * 86400), PARAMS)
    assert len(store) == 2
    await store.observe("new", Observation(T0 + 3 * 86400), PARAMS)
    assert await store.snapshot("old") is None
    assert len(store) == 2


async def test_ttl_never_shorter_than_twice_the_relogin_gap() -> None:
    store = MemoryStateStore(ttl=60)
    await store.observe("u", Observation(T0), PARAMS)
    back = await store.observe("u", Observation(T0 + 13 * H), PARAMS)
    assert back.relogin  # still remembered: a returning user, not a first-time one


async def test_max_users_bounds_memory() -> None:
    store = MemoryStateStore(max_users=3)
    for i in range(5):
        await store.observe(f"u{i}", Observation(T0 + i), PARAMS)
    assert len(store) == 3
    assert await store.snapshot("u0") is None and await store.snapshot("u4") is not None


async def test_factory_opens_memory_store() -> None:
    store = await open_state_store("memory://")
    assert isinstance(store, MemoryStateStore) and await store.ping()
    await store.aclose()


async def test_factory_refuses_an_unknown_scheme() -> None:
    with pytest.raises(StateStoreError, match=r"memory:// .* or redis://"):
        await open_state_store("postgres://localhost/state")


async def test_factory_reports_unreachable_redis_without_the_password() -> None:
    with pytest.raises(StateStoreError, match="not reachable") as info:
        await open_state_store("redis://:hunter2@127.0.0.1:1/0")
    assert "hunter2" not in str(info.value)
