"""Session state in process memory (``memory://``): the default, for one worker.

Atomicity comes from asyncio itself: :meth:`MemoryStateStore.observe` reads, transitions and writes a
user's state without awaiting in between, so no other request of the same process interleaves. Several
workers or replicas do not share this memory; they need the Redis store.
"""

from __future__ import annotations

from collections import OrderedDict

from middleware.state import (
    DEFAULT_TTL,
    ClockParams,
    Decision,
    Observation,
    UserState,
    advance,
    end_sessions,
    owe_disclosure,
    state_ttl,
)


class MemoryStateStore:
    """A dict of :class:`UserState` by scope key, least recently used first, forgotten after the TTL."""

    def __init__(self, *, ttl: float = DEFAULT_TTL, max_users: int = 1_000_000) -> None:
        self._ttl = ttl
        self._max_users = max_users
        self._states: OrderedDict[str, UserState] = OrderedDict()
        self._ttls: dict[str, float] = {}

    async def observe(self, scope_key: str, obs: Observation, params: ClockParams) -> Decision:
        state = self._states.get(scope_key)
        if state is not None and obs.now - state.last_seen >= self._ttls.get(scope_key, self._ttl):
            state = None  # expired, as a Redis key would have
        new_state, decision = advance(state, obs, params)
        self._states[scope_key] = new_state
        self._ttls[scope_key] = state_ttl(self._ttl, params)
        self._states.move_to_end(scope_key)
        self._evict(obs.now)
        return decision

    def _evict(self, now: float) -> None:
        # Users sit in order of their latest request, so expired ones are at the front: amortised O(1).
        while self._states:
            key, oldest = next(iter(self._states.items()))
            expired = now - oldest.last_seen >= self._ttls.get(key, self._ttl)
            if not expired and len(self._states) <= self._max_users:
                break
            del self._states[key]
            self._ttls.pop(key, None)

    async def end_session(self, scope_key: str) -> None:
        state = self._states.get(scope_key)
        if state is not None:
            self._states[scope_key] = end_sessions(state)

    async def owe_disclosure(self, scope_key: str) -> None:
        state = self._states.get(scope_key)
        if state is not None:
            self._states[scope_key] = owe_disclosure(state)

    async def snapshot(self, scope_key: str) -> UserState | None:
        return self._states.get(scope_key)

    async def ping(self) -> bool:
        return True

    async def aclose(self) -> None:
        self._states.clear()
        self._ttls.clear()

    def __len__(self) -> int:
        return len(self._states)
