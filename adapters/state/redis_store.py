"""Session state in Redis (``redis://host:6379/0``): shared by every worker and replica.

The clock's decision is written once, in Python (:func:`middleware.state.clock.transition`). Redis only
keeps each user's :class:`UserState` as one hash (``v`` a version, ``s`` the state as JSON) and applies
a new state with a compare-and-set (:data:`CAS_LUA`, a few lines): read, decide in Python, write only
if nobody wrote in between, else read again and decide again. Two replicas that race for the same user
therefore decide one after the other, as if in sequence, and a reminder is delivered exactly once.
The price is one more round trip per request than a script doing everything (measured in bench/).
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import Callable
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from middleware.state import (
    DEFAULT_TTL,
    ClockParams,
    Decision,
    Observation,
    StateStoreError,
    UserState,
    advance,
    end_sessions,
    new_session_id,
    owe_disclosure,
    state_ttl,
)

# KEYS[1] the user's hash; ARGV: the version read ('' when absent), the new version, the state, TTL (ms)
CAS_LUA = r"""
if (redis.call('HGET', KEYS[1], 'v') or '') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 's', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
"""

MAX_RETRIES = 50   # a write lost to another replica is decided again; contention on one user is rare


def encode_state(state: UserState) -> str:
    return orjson.dumps(dataclasses.asdict(state)).decode()


def _text(value: bytes | str | None) -> str:
    return value.decode() if isinstance(value, bytes) else (value or "")


def decode_state(raw: str | None) -> UserState | None:
    if not raw:
        return None
    return UserState(**orjson.loads(raw))


class RedisStateStore:
    """The :class:`middleware.state.StateStore` for several workers or replicas."""

    def __init__(self, client: aioredis.Redis, *, key_prefix: str = "candor:state:",
                 ttl: float = DEFAULT_TTL, url: str = "redis",
                 mint_session_id: Callable[[], str] = new_session_id) -> None:
        self._redis = client
        self._mint = mint_session_id
        self._prefix = key_prefix
        self._ttl = ttl
        self._where = url
        # redis-py's Script runs EVALSHA and loads the script on NOSCRIPT (after a Redis restart or failover)
        self._cas = client.register_script(CAS_LUA)
        self._locks: dict[str, list[Any]] = {}   # key -> [lock, waiters]

    @classmethod
    def from_url(cls, url: str, *, key_prefix: str = "candor:state:",
                 ttl: float = DEFAULT_TTL) -> RedisStateStore:
        client = aioredis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=2.0,
                                         socket_timeout=5.0)
        return cls(client, key_prefix=key_prefix, ttl=ttl, url=url)

    def key(self, scope_key: str) -> str:
        return self._prefix + scope_key

    async def _read(self, key: str) -> tuple[str, UserState | None]:
        version, raw = await self._redis.hmget(key, ["v", "s"])
        return _text(version), decode_state(_text(raw) or None)

    async def _update(self, scope_key: str, change: Callable[[UserState | None], UserState | None],
                      ttl: float) -> UserState | None:
        """Read, change in Python, compare-and-set; again on a lost race. Returns the state written."""
        key = self.key(scope_key)
        # one decision at a time per user inside this worker: races are left only between workers
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = [asyncio.Lock(), 0]
        lock[1] += 1
        try:
            async with lock[0]:
                return await self._compare_and_set(key, change, ttl)
        finally:
            lock[1] -= 1
            if lock[1] == 0:
                del self._locks[key]

    async def _compare_and_set(self, key: str, change: Callable[[UserState | None], UserState | None],
                               ttl: float) -> UserState | None:
        try:
            for attempt in range(MAX_RETRIES):
                if attempt:
                    await asyncio.sleep(random.uniform(0, 0.001 * min(attempt, 10)))   # jitter: let the winner finish
                version, state = await self._read(key)
                new = change(state)
                if new is None:
                    return None
                nxt = str(int(version or "0") + 1)
                if await self._cas(keys=[key], args=[version, nxt, encode_state(new), max(1, round(ttl * 1000))]):
                    return new
        except RedisError as exc:
            raise StateStoreError(f"session state store at {self._where} failed: {exc}") from exc
        raise StateStoreError(f"session state of one user at {self._where} changed {MAX_RETRIES} times while "
                              "Candor decided; retry the request")

    async def observe(self, scope_key: str, obs: Observation, params: ClockParams) -> Decision:
        decided: list[Decision] = []
        expires = state_ttl(self._ttl, params)

        def change(state: UserState | None) -> UserState:
            decided.clear()
            new, decision = advance(state, obs, params, new_id=self._mint())
            decided.append(decision)
            return new

        await self._update(scope_key, change, expires)
        return decided[0]

    async def end_session(self, scope_key: str) -> None:
        await self._update(scope_key, lambda state: end_sessions(state) if state is not None else None, self._ttl)

    async def owe_disclosure(self, scope_key: str) -> None:
        await self._update(scope_key, lambda state: owe_disclosure(state) if state is not None else None, self._ttl)

    async def snapshot(self, scope_key: str) -> UserState | None:
        try:
            return (await self._read(self.key(scope_key)))[1]
        except RedisError as exc:
            raise StateStoreError(f"session state store at {self._where} failed: {exc}") from exc

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except (RedisError, OSError):
            return False

    async def aclose(self) -> None:
        await self._redis.aclose()

