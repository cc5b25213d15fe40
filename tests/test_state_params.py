"""Clock parameters (middleware/state/params.py) and the store contract (middleware/state/store.py)."""

from __future__ import annotations

import pytest

from middleware.state.params import ClockParams, DependenceParams, day_facts, parse_clock, resolve_timezone
from middleware.state.store import StateStore, state_ttl
from middleware.testing import MemoryState


def test_days_follow_the_policys_time_zone() -> None:
    params = ClockParams(day_timezone="Asia/Shanghai")
    facts = day_facts(1_772_416_800.0, params)   # 2026-03-02 10:00 in Beijing
    assert facts.day_end - facts.day_start == 86400
    assert facts.day_start <= 1_772_416_800.0 < facts.day_end
    assert resolve_timezone("UTC+8").utcoffset(None) is not None


def test_clock_times_and_bad_parameters() -> None:
    assert parse_clock("22:30") == 22 * 60 + 30   # minutes after midnight
    with pytest.raises(ValueError):
        parse_clock("25:00")
    with pytest.raises(ValueError):
        ClockParams(remind_every=-1)
    assert DependenceParams(daily_minutes=90).daily_seconds == 5400


def test_state_outlives_the_longest_clock_and_memory_is_a_store() -> None:
    assert state_ttl(60.0, ClockParams(relogin_gap=12 * 3600)) >= 12 * 3600
    assert isinstance(MemoryState(), StateStore)
