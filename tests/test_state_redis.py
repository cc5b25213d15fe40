"""The Redis state store against a real Redis: Python decides (``advance``), Redis compares and sets."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import redis.asyncio as aioredis

from adapters.state.redis_store import CAS_LUA, RedisStateStore
from adapters.wiring.state import open_state_store
from middleware.state import (
    MAX_OPEN_SESSIONS,
    ClockParams,
    DependenceParams,
    Observation,
    StateStore,
    UserState,
    advance,
    end_sessions,
    owe_disclosure,
    state_ttl,
)
from tests.services import require_redis

pytestmark = pytest.mark.services

T0 = 1_772_416_800.0  # 2026-03-02 10:00 in Beijing
H, M = 3600.0, 60.0


@dataclass
class Minter:
    """Hands the same session id to the Redis store and to the reference, step by step."""

    next_id: str = "auto0"

    def __call__(self) -> str:
        return self.next_id


@pytest.fixture
async def redis_url() -> str:
    return require_redis()


@pytest.fixture
async def prefix(redis_url: str) -> AsyncIterator[str]:
    unique = f"candor:test:{uuid.uuid4().hex}:"
    yield unique
    client = aioredis.Redis.from_url(redis_url)
    keys = [key async for key in client.scan_iter(match=unique + "*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture
async def store(redis_url: str, prefix: str) -> AsyncIterator[tuple[RedisStateStore, Minter]]:
    minter = Minter()
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    yield RedisStateStore(client, key_prefix=prefix, mint_session_id=minter), minter
    await client.aclose()


def random_params(rng: random.Random) -> ClockParams:
    dependence = None
    if rng.random() < 0.7:
        window = rng.choice([None, ("23:00", "05:00"), ("01:00", "02:30"), ("10:00", "18:00")])
        dependence = DependenceParams(
            daily_minutes=rng.choice([None, 20, 45.5, 120]),
            sessions_per_day=rng.choice([None, 2, 4]),
            late_night_start=window[0] if window else None, late_night_end=window[1] if window else None,
            timezone=rng.choice([None, "UTC", "America/New_York"]),
            attachment=rng.random() < 0.8, min_interval=rng.choice([0.0, 300.0, 1800.0, 3600.0]))
    daily = rng.random() < 0.3
    every = rng.choice([None, 900.0, 2700.0])
    reality = rng.choice([None, 300.0, 1800.0])
    return ClockParams(
        relogin_gap=rng.choice([600.0, 3600.0, 12 * H]),
        disclose_first_turn=rng.random() < 0.8,
        first_turn_once_per=None if daily else rng.choice([None, 1800.0, 86400.0]),
        first_turn_daily=daily,
        disclose_relogin=rng.random() < 0.5,
        disclosure_every=every,
        disclosure_lead=rng.choice([0.0, 60.0, 299.5]) if every else 0.0,
        idle_reset=rng.choice([60.0, 300.0, 1800.0]),
        remind_every=rng.choice([None, 600.0, 1234.5, 7200.0]),
        reality_every=reality,
        reality_lead=rng.choice([0.0, 60.0, 299.5]) if reality else 0.0,
        daily_limit=rng.choice([None, 1800.0, 7200.0]),
        dependence=dependence,
        day_timezone=rng.choice(["Asia/Shanghai", "UTC", "America/New_York", "+05:30"]))


def random_gap(rng: random.Random, params: ClockParams) -> float:
    """Gaps that land on and around every threshold, plus replicas with skewed clocks."""
    kind = rng.random()
    if kind < 0.05:
        return 0.0  # simultaneous requests: ties between sessions' last-seen times
    if kind < 0.45:
        return rng.uniform(0, 120)
    if kind < 0.55:
        return params.idle_reset + rng.choice([-1.0, 0.0, 1.0, rng.uniform(-30, 30)])
    if kind < 0.62:
        return params.relogin_gap + rng.choice([-1.0, 0.0, 1.0])
    if kind < 0.70:
        return rng.uniform(-60, 0)  # a request stamped earlier than the last one
    if kind < 0.78:
        return float(rng.randint(0, 600))
    if kind < 0.85:
        return rng.uniform(2 * H, 30 * H)
    return rng.uniform(0, params.idle_reset)


HINTS = [None] * 6 + [f"tab{i}" for i in range(MAX_OPEN_SESSIONS + 3)] + ["会话:1", "a:b", "o:x", "ß"]


@pytest.mark.parametrize("seed", range(24))
async def test_redis_store_decides_like_advance_on_random_sequences(
        store: tuple[RedisStateStore, Minter], seed: int) -> None:
    redis_store, minter = store
    rng = random.Random(seed)
    params = random_params(rng)
    scope = f"app:user{seed}"
    reference: UserState | None = None
    now = T0 + rng.uniform(-86400, 86400)
    fired = 0
    for step in range(250):
        if reference is not None and rng.random() < 0.04:
            await redis_store.end_session(scope)
            reference = end_sessions(reference)
            continue
        if reference is not None and rng.random() < 0.05:
            await redis_store.owe_disclosure(scope)   # a refused request left its disclosure due
            reference = owe_disclosure(reference)
            continue
        now += random_gap(rng, params)
        if rng.random() < 0.1:
            params = random_params(rng)  # a policy reload between requests
        obs = Observation(now, rng.choice(HINTS), rng.random() < 0.15)
        minter.next_id = f"auto{step}"
        reference, expected = advance(reference, obs, params, new_id=minter.next_id)
        got = await redis_store.observe(scope, obs, params)
        assert got == expected, f"seed {seed} step {step}: {obs} with {params}"
        assert await redis_store.snapshot(scope) == reference, f"seed {seed} step {step}"
        fired += expected.usage_reminder + expected.disclose + expected.dependence_reminder
    assert fired > 0  # the sequence exercised the reminders, not only quiet turns


async def agree(redis_store: RedisStateStore, minter: Minter, scope: str,
                steps: list[tuple[float, str | None]], params: ClockParams) -> UserState | None:
    reference: UserState | None = None
    for i, (now, hint) in enumerate(steps):
        minter.next_id = f"auto{i}"
        reference, expected = advance(reference, Observation(now, hint), params, new_id=minter.next_id)
        assert await redis_store.observe(scope, Observation(now, hint), params) == expected, f"step {i}"
    assert await redis_store.snapshot(scope) == reference
    return reference


async def test_pruning_breaks_ties_by_session_name_like_the_reference(
        store: tuple[RedisStateStore, Minter]) -> None:
    names = ["b", "ä", "a", "c", "aa", "B", "z", "y", "x", "会"]
    steps: list[tuple[float, str | None]] = [(T0, name) for name in names]
    final = await agree(*store, "ties", steps, ClockParams())
    assert final is not None and sorted(final.sessions) == sorted(["c", "z", "y", "x", "会", "b", "ä", "aa"])


async def test_pruning_never_forgets_the_session_just_opened(store: tuple[RedisStateStore, Minter]) -> None:
    steps: list[tuple[float, str | None]] = [(T0 + i, f"tab{i}") for i in range(MAX_OPEN_SESSIONS)]
    steps.append((T0 - 100, "late"))  # a lagging replica opens a session stamped before all the others
    final = await agree(*store, "lagging", steps, ClockParams())
    assert final is not None and "late" in final.sessions and "tab0" not in final.sessions


async def test_redis_store_is_a_state_store(store: tuple[RedisStateStore, Minter]) -> None:
    assert isinstance(store[0], StateStore)
    assert await store[0].ping()


async def test_state_keys_expire(store: tuple[RedisStateStore, Minter], redis_url: str) -> None:
    redis_store, _ = store
    params = ClockParams(relogin_gap=12 * H)
    await redis_store.observe("u", Observation(T0), params)
    client = aioredis.Redis.from_url(redis_url)
    ttl_ms = await client.pttl(redis_store.key("u"))
    await client.aclose()
    assert 0 < ttl_ms <= state_ttl(2 * 86400, params) * 1000
    assert ttl_ms > (2 * 86400 - 60) * 1000


async def test_end_session_of_an_unknown_user_creates_nothing(
        store: tuple[RedisStateStore, Minter]) -> None:
    await store[0].end_session("ghost")
    assert await store[0].snapshot("ghost") is None


async def test_prefixes_keep_deployments_apart(redis_url: str, prefix: str) -> None:
    one = RedisStateStore.from_url(redis_url, key_prefix=prefix + "one:")
    two = RedisStateStore.from_url(redis_url, key_prefix=prefix + "two:")
    assert (await one.observe("u", Observation(T0), ClockParams())).new_session
    assert (await two.observe("u", Observation(T0 + 1), ClockParams())).new_session
    assert not (await one.observe("u", Observation(T0 + 2), ClockParams())).new_session
    await one.aclose()
    await two.aclose()


async def test_factory_opens_redis_and_reports_failures(redis_url: str, prefix: str) -> None:
    opened = await open_state_store(redis_url, key_prefix=prefix)
    assert isinstance(opened, RedisStateStore)
    assert (await opened.observe("u", Observation(T0), ClockParams())).disclose
    await opened.aclose()


def test_the_redis_script_is_only_a_compare_and_set() -> None:
    lines = [ln for ln in CAS_LUA.strip().splitlines() if ln.strip()]
    assert len(lines) <= 20 and "transition" not in CAS_LUA


async def test_racing_requests_of_one_user_decide_one_after_the_other(redis_url: str, prefix: str) -> None:
    """Twenty replicas' requests for a new user at once: exactly one opens the session and discloses."""
    stores = [RedisStateStore.from_url(redis_url, key_prefix=prefix) for _ in range(20)]
    params = ClockParams(disclose_first_turn=True)
    decisions = await asyncio.gather(*(s.observe("racer", Observation(T0), params) for s in stores))
    assert sum(d.new_session for d in decisions) == 1
    assert sum(d.disclose for d in decisions) == 1
    assert len({d.session_id for d in decisions}) == 1
    for s in stores:
        await s.aclose()
