"""The session-state port: what the pipeline needs from a store, whatever keeps the state.

Implementations live in ``adapters/`` (``state_memory``: one process; ``state_redis``: shared by workers
and replicas). Every implementation applies :func:`middleware.state.clock.transition` atomically per
scope key, so two concurrent requests never both receive (or both miss) one reminder.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from middleware.state.clock import Decision, Observation, UserState
from middleware.state.params import ClockParams

DEFAULT_TTL = 2 * 86400.0
"""How long an idle user's state is kept. Never less than twice the re-login gap (see ``state_ttl``)."""


class StateStoreError(RuntimeError):
    """The state store cannot be opened or reached; the message says what to check."""


def state_ttl(ttl: float, params: ClockParams) -> float:
    """Keep state at least long enough that a returning user is recognised as re-logging in."""
    return max(ttl, 2 * params.relogin_gap)


@runtime_checkable
class StateStore(Protocol):
    async def observe(self, scope_key: str, obs: Observation, params: ClockParams) -> Decision:
        """Apply one request to the user's clocks, atomically, and say what is due."""
        ...

    async def end_session(self, scope_key: str) -> None:
        """The user exited: close their sessions, so the next message starts a new one (a re-login)."""
        ...

    async def owe_disclosure(self, scope_key: str) -> None:
        """A disclosure this user was due went undelivered (refused, or no text in the reply): the next
        request gets it (no-op for an unknown user)."""
        ...

    async def snapshot(self, scope_key: str) -> UserState | None:
        """The user's current state, for usage summaries and diagnostics (read-only)."""
        ...

    async def ping(self) -> bool:
        """Whether the store answers (for ``/readyz``)."""
        ...

    async def aclose(self) -> None:
        ...
