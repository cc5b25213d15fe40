"""Session state and usage clocks: when a disclosure or a reminder is due (ANTH-DISCLOSE-1/2/3,
ANTH-TIME-1/2, ANTH-MINOR-3). The logic is :func:`advance`; stores persist its state atomically."""

from middleware.state.clock import (
    MAX_OPEN_SESSIONS,
    SIGNAL_ORDER,
    Decision,
    Observation,
    UserState,
    advance,
    end_sessions,
    new_session_id,
    owe_disclosure,
    transition,
)
from middleware.state.params import (
    DEFAULT_DAY_TIMEZONE,
    ClockParams,
    DayFacts,
    DependenceParams,
    day_facts,
    resolve_timezone,
)
from middleware.state.store import DEFAULT_TTL, StateStore, StateStoreError, state_ttl

__all__ = [
    "DEFAULT_DAY_TIMEZONE",
    "DEFAULT_TTL",
    "MAX_OPEN_SESSIONS",
    "SIGNAL_ORDER",
    "ClockParams",
    "DayFacts",
    "Decision",
    "DependenceParams",
    "Observation",
    "StateStore",
    "StateStoreError",
    "UserState",
    "advance",
    "day_facts",
    "end_sessions",
    "new_session_id",
    "owe_disclosure",
    "resolve_timezone",
    "state_ttl",
    "transition",
]
