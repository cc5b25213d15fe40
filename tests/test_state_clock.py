"""The usage clocks (middleware.state.clock.advance) with a fake clock: every rule, at its boundaries."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from middleware.state.clock import (
    MAX_OPEN_SESSIONS,
    Decision,
    Observation,
    UserState,
    advance,
    end_sessions,
)
from middleware.state.params import ClockParams, DependenceParams, day_facts

SHANGHAI = ZoneInfo("Asia/Shanghai")
H, M = 3600.0, 60.0


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0, tz: ZoneInfo = SHANGHAI) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=tz).timestamp()


T0 = local(2026, 3, 2, 10)  # a Monday morning in Beijing


class User:
    """One user's clocks driven by hand; session ids minted as auto1, auto2, ..."""

    def __init__(self, params: ClockParams) -> None:
        self.params = params
        self.state: UserState | None = None
        self.minted = 0

    def at(self, now: float, hint: str | None = None, attachment: bool = False) -> Decision:
        self.minted += 1
        self.state, decision = advance(self.state, Observation(now, hint, attachment), self.params,
                                       new_id=f"auto{self.minted}")
        return decision

    def exit(self) -> None:
        assert self.state is not None
        self.state = end_sessions(self.state)


# --- sessions and disclosure ---------------------------------------------------------------------------

def test_first_turn_is_a_new_session_and_disclosed_later_turns_are_not() -> None:
    user = User(ClockParams())
    first = user.at(T0)
    assert (first.new_session, first.relogin, first.disclose) == (True, False, True)
    assert first.session_id == "auto1"
    second = user.at(T0 + 5 * M)
    assert (second.new_session, second.disclose, second.session_id) == (False, False, "auto1")


def test_first_turn_disclosure_can_be_turned_off() -> None:
    user = User(ClockParams(disclose_first_turn=False))
    assert user.at(T0).disclose is False


def test_session_header_names_the_session() -> None:
    user = User(ClockParams())
    assert user.at(T0, hint="chat-1").session_id == "chat-1"
    assert user.at(T0 + 1, hint="chat-1").new_session is False
    assert user.at(T0 + 2).session_id == "chat-1"  # no header: the latest session continues


def test_relogin_after_the_gap_opens_a_new_disclosed_session() -> None:
    user = User(ClockParams(relogin_gap=12 * H))
    user.at(T0)
    just_before = user.at(T0 + 12 * H - 1)
    assert (just_before.new_session, just_before.relogin, just_before.disclose) == (False, False, False)
    back = user.at(T0 + 24 * H - 1)  # exactly 12 h after the previous request
    assert (back.new_session, back.relogin, back.disclose) == (True, True, True)
    assert back.session_id == "auto3"


def test_relogin_with_the_same_session_header_is_still_a_relogin() -> None:
    user = User(ClockParams(relogin_gap=1 * H))
    user.at(T0, hint="tab")
    back = user.at(T0 + 2 * H, hint="tab")
    assert (back.session_id, back.new_session, back.relogin, back.disclose) == ("tab", True, True, True)


def test_first_turn_once_per_throttles_new_sessions_but_not_relogins() -> None:
    params = ClockParams(relogin_gap=12 * H, first_turn_once_per=24 * H, disclose_relogin=True)
    user = User(params)
    assert user.at(T0, hint="a").disclose is True
    other_tab = user.at(T0 + M, hint="b")
    assert (other_tab.new_session, other_tab.relogin, other_tab.disclose) == (True, False, False)
    back = user.at(T0 + 13 * H, hint="c")
    assert (back.relogin, back.disclose) == (True, True)

    quiet = User(replace(params, disclose_relogin=False))
    quiet.at(T0)
    assert quiet.at(T0 + 13 * H).disclose is False  # re-login, but the first-turn notice is throttled
    assert quiet.at(T0 + 38 * H).disclose is True  # 25 h after the last disclosure


def test_exit_ends_the_session_and_the_next_message_is_a_disclosed_relogin() -> None:
    user = User(ClockParams())
    user.at(T0, hint="chat")
    user.exit()
    back = user.at(T0 + M, hint="chat")
    assert (back.new_session, back.relogin, back.disclose, back.session_id) == (True, True, True, "chat")
    user.exit()
    assert user.at(T0 + 2 * M).session_id == "auto3"  # no header after an exit: a fresh id


def test_two_open_tabs_do_not_restart_each_other() -> None:
    user = User(ClockParams())
    assert user.at(T0, hint="a").new_session
    assert user.at(T0 + 1, hint="b").new_session
    for step in range(2, 10):
        decision = user.at(T0 + step, hint="ab"[step % 2])
        assert decision.new_session is False
        assert decision.disclose is False
    assert decision.sessions_today == 2


def test_a_tab_left_alone_past_the_gap_starts_over_without_being_a_relogin() -> None:
    user = User(ClockParams(relogin_gap=1 * H, idle_reset=30 * M))
    user.at(T0, hint="a")
    for step in range(1, 8):
        user.at(T0 + step * 10 * M, hint="b")
    back_to_a = user.at(T0 + 75 * M, hint="a")
    assert (back_to_a.new_session, back_to_a.relogin, back_to_a.disclose) == (True, False, True)


def test_only_the_most_recent_open_sessions_are_remembered() -> None:
    user = User(ClockParams())
    for i in range(MAX_OPEN_SESSIONS + 1):
        user.at(T0 + i, hint=f"tab{i}")
    assert user.state is not None and len(user.state.sessions) == MAX_OPEN_SESSIONS
    assert user.at(T0 + 100, hint=f"tab{MAX_OPEN_SESSIONS}").new_session is False
    assert user.at(T0 + 101, hint="tab0").new_session is True  # the least recently used one was forgotten


def test_periodic_disclosure_every_interval_of_use() -> None:
    user = User(ClockParams(disclosure_every=10 * M, idle_reset=30 * M))
    disclosed = [t for t in range(0, 35 * 60, 60) if user.at(T0 + t).disclose]
    assert disclosed == [0, 600, 1200, 1800]


# --- usage reminders -----------------------------------------------------------------------------------

def test_usage_reminder_at_every_two_hours_of_continuous_use_exactly_once_each() -> None:
    user = User(ClockParams(remind_every=2 * H, idle_reset=30 * M))
    reminded = [(t, d.continuous_minutes) for t in range(0, int(5 * H) + 1, 300)
                if (d := user.at(T0 + t)).usage_reminder]
    assert reminded == [(7200, 120), (14400, 240)]


def test_a_reminder_is_due_at_the_first_request_after_the_threshold() -> None:
    user = User(ClockParams(remind_every=2 * H, idle_reset=30 * M))
    for t in range(0, int(115 * M) + 1, 25 * 60):
        assert not user.at(T0 + t).usage_reminder
    late = user.at(T0 + 125 * M)
    assert late.usage_reminder and late.continuous_minutes == 125
    assert not user.at(T0 + 126 * M).usage_reminder


def test_an_idle_gap_resets_the_stretch_and_the_next_reminder_comes_two_hours_later() -> None:
    user = User(ClockParams(remind_every=2 * H, idle_reset=30 * M))
    for t in range(0, int(100 * M) + 1, 10 * 60):
        user.at(T0 + t)
    resumed = T0 + 100 * M + 30 * M  # a gap of exactly idle_reset ends the stretch
    first = user.at(resumed)
    assert (first.usage_reminder, first.continuous_seconds) == (False, 0.0)
    reminded = [t for t in range(600, int(4 * H), 600) if user.at(resumed + t).usage_reminder]
    assert reminded == [7200]


def test_a_gap_just_under_idle_reset_keeps_the_stretch() -> None:
    user = User(ClockParams(remind_every=2 * H, idle_reset=30 * M))
    t = 0.0
    for _ in range(4):
        user.at(T0 + t)
        t += 30 * M - 1
    last = user.at(T0 + t)  # four gaps of 29 min 59 s: 1 h 59 min 56 s of continuous use
    assert (last.continuous_seconds, last.usage_reminder) == (t, False)
    assert user.at(T0 + 2 * H).usage_reminder


def test_no_usage_reminders_when_off() -> None:
    user = User(ClockParams(remind_every=None))
    assert not any(user.at(T0 + t).usage_reminder for t in range(0, int(5 * H), 600))


def test_a_new_session_does_not_reset_continuous_use() -> None:
    user = User(ClockParams(remind_every=2 * H, idle_reset=30 * M))
    for t in range(0, int(119 * M), 10 * 60):
        user.at(T0 + t, hint=f"chat{t // 1800}")
    decision = user.at(T0 + 2 * H, hint="another")
    assert decision.new_session and decision.usage_reminder


# --- minors: reality reminders and the daily limit -----------------------------------------------------

def test_reality_reminder_every_interval_of_use() -> None:
    user = User(ClockParams(reality_every=30 * M, idle_reset=30 * M))
    reminded = [t for t in range(0, int(95 * M), 5 * 60) if user.at(T0 + t).reality_reminder]
    assert reminded == [1800, 3600, 5400]


def test_daily_use_counts_a_long_gap_up_to_the_idle_reset() -> None:
    user = User(ClockParams(idle_reset=30 * M))
    user.at(T0)
    user.at(T0 + 10 * M)
    gap = user.at(T0 + 50 * M)  # a 40-minute gap ends continuous use but still counts 30 minutes of use
    assert gap.continuous_seconds == 0
    assert user.at(T0 + 55 * M).daily_used_seconds == (10 + 30 + 5) * M


def test_spaced_out_use_adds_up_to_the_daily_limit() -> None:
    # a message every 31 minutes never makes continuous use, yet 6 hours of it is far past a 1 h limit
    user = User(ClockParams(idle_reset=30 * M, daily_limit=1 * H))
    decisions = [user.at(T0 + i * 31 * M) for i in range(12)]
    assert all(d.continuous_seconds == 0 for d in decisions)
    reached = [i for i, d in enumerate(decisions) if d.daily_limit_reached]
    assert reached[0] == 2 and decisions[-1].daily_used_seconds == 11 * 30 * M


def test_a_longer_gap_never_counts_less_use_than_a_shorter_one() -> None:
    used = []
    for gap in (29 * M, 30 * M, 31 * M, 5 * H):
        user = User(ClockParams(idle_reset=30 * M))
        user.at(T0)
        used.append(user.at(T0 + gap).daily_used_seconds)
    assert used == sorted(used) and used[-1] == 30 * M


def test_first_turn_disclosure_once_per_calendar_day() -> None:
    params = ClockParams(first_turn_daily=True, relogin_gap=1 * H, disclose_relogin=False)
    user = User(params)
    assert user.at(local(2026, 3, 2, 23, 0)).disclose
    assert not user.at(local(2026, 3, 2, 23, 30), hint="tab2").disclose     # same day, new session
    # 00:10 is a new calendar day: the start notice again, though only 70 minutes have passed
    assert user.at(local(2026, 3, 3, 0, 10), hint="tab3").disclose
    assert not user.at(local(2026, 3, 3, 9, 0)).disclose


def test_a_lead_keeps_every_gap_between_periodic_disclosures_within_the_interval() -> None:
    params = ClockParams(disclosure_every=3 * H, disclosure_lead=30 * M, idle_reset=30 * M)
    user = User(params)
    times, now, step = [], T0, 29 * M
    for _ in range(40):   # a message every 29 minutes: one continuing interaction of ~19 hours
        if user.at(now).disclose:
            times.append(now)
        now += step
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps and max(gaps) <= 3 * H
    without = User(replace(params, disclosure_lead=0.0))
    late = [t for t in (T0 + i * step for i in range(40)) if without.at(t).disclose]
    assert max(b - a for a, b in itertools.pairwise(late)) > 3 * H   # what the lead prevents


def test_an_owed_disclosure_is_given_on_the_next_request() -> None:
    from middleware.state import owe_disclosure

    user = User(ClockParams())
    assert user.at(T0).disclose
    assert user.state is not None
    user.state = owe_disclosure(user.state)     # that reply was refused: the disclosure never reached the user
    assert user.at(T0 + 1 * M).disclose
    assert not user.at(T0 + 2 * M).disclose     # given once, then no longer owed


def test_daily_limit_reached_and_reset_at_midnight_in_the_policy_zone() -> None:
    user = User(ClockParams(daily_limit=1 * H, idle_reset=30 * M))
    start = local(2026, 3, 2, 22, 50)
    for t in range(0, 55 * 60 + 1, 5 * 60):
        below = user.at(start + t)
    assert (below.daily_limit_reached, below.resets_at) == (False, local(2026, 3, 3))
    reached = user.at(start + 60 * M)
    assert reached.daily_limit_reached and reached.daily_used_seconds == 1 * H
    assert user.at(local(2026, 3, 2, 23, 55)).daily_limit_reached
    after_midnight = user.at(local(2026, 3, 3, 0, 5))  # the gap straddles midnight: 5 min count today
    assert after_midnight.daily_used_seconds == 5 * M
    assert (after_midnight.daily_limit_reached, after_midnight.resets_at) == (False, local(2026, 3, 4))


def test_the_day_boundary_follows_the_configured_zone() -> None:
    utc = User(ClockParams(daily_limit=1 * H, day_timezone="UTC"))
    # 07:50 to 08:10 Beijing time is 23:50 to 00:10 UTC: the UTC day rolls over at 08:00 Beijing
    utc.at(local(2026, 3, 2, 7, 50))
    decision = utc.at(local(2026, 3, 2, 8, 10))
    assert decision.daily_used_seconds == 10 * M
    assert decision.resets_at == datetime(2026, 3, 3, tzinfo=ZoneInfo("UTC")).timestamp()
    offset = User(ClockParams(day_timezone="+08:00"))
    assert offset.at(T0).resets_at == local(2026, 3, 3)


def test_a_day_with_a_daylight_saving_change_is_23_hours_long() -> None:
    ny = ZoneInfo("America/New_York")
    facts = day_facts(local(2026, 3, 8, 12, tz=ny), ClockParams(day_timezone="America/New_York"))
    assert (facts.day_start, facts.day_end) == (local(2026, 3, 8, tz=ny), local(2026, 3, 9, tz=ny))
    assert facts.day_end - facts.day_start == 23 * H


def test_sessions_today_counts_new_sessions_and_restarts_at_midnight() -> None:
    user = User(ClockParams(relogin_gap=1 * H))
    assert user.at(local(2026, 3, 2, 9)).sessions_today == 1
    assert user.at(local(2026, 3, 2, 12)).sessions_today == 2
    assert user.at(local(2026, 3, 2, 23, 50)).sessions_today == 3
    assert user.at(local(2026, 3, 3, 0, 10)).sessions_today == 1  # still the same session, in a new day


# --- dependence ----------------------------------------------------------------------------------------

def _dependence(**kwargs: object) -> ClockParams:
    signals = DependenceParams(**{"min_interval": 1 * H, **kwargs})  # type: ignore[arg-type]
    return ClockParams(dependence=signals, relogin_gap=1 * H, idle_reset=30 * M)


def test_dependence_signal_daily_minutes() -> None:
    user = User(_dependence(daily_minutes=60))
    fired = [t for t in range(0, int(90 * M), 10 * 60) if user.at(T0 + t).dependence_reminder]
    assert fired == [3600]
    assert user.at(T0 + 90 * M).dependence_signals == ("daily_minutes",)


def test_dependence_signal_sessions_per_day() -> None:
    user = User(_dependence(sessions_per_day=3))
    assert not user.at(T0, hint="a").dependence_reminder
    assert not user.at(T0 + 1, hint="b").dependence_reminder
    third = user.at(T0 + 2, hint="c")
    assert third.dependence_reminder and third.dependence_signals == ("sessions_per_day",)


@pytest.mark.parametrize(("hour", "minute", "late"), [
    (22, 59, False), (23, 0, True), (2, 0, True), (4, 59, True), (5, 0, False), (12, 0, False)])
def test_dependence_signal_late_night_window_wraps_midnight(hour: int, minute: int, late: bool) -> None:
    user = User(_dependence(late_night_start="23:00", late_night_end="05:00"))
    decision = user.at(local(2026, 3, 2, hour, minute))
    assert decision.dependence_reminder is late
    assert decision.dependence_signals == (("late_night",) if late else ())


def test_late_night_window_in_its_own_zone() -> None:
    params = _dependence(late_night_start="23:00", late_night_end="05:00", timezone="UTC")
    # 23:30 UTC is 07:30 in Beijing: late for a UTC window, not for the day zone
    assert User(params).at(local(2026, 3, 3, 7, 30)).dependence_signals == ("late_night",)
    assert User(params).at(local(2026, 3, 2, 23, 30)).dependence_signals == ()


def test_dependence_signal_attachment_and_its_switch() -> None:
    on = User(_dependence()).at(T0, attachment=True)
    assert on.dependence_reminder and on.dependence_signals == ("attachment",)
    off = User(_dependence(attachment=False)).at(T0, attachment=True)
    assert not off.dependence_reminder and off.dependence_signals == ()


def test_dependence_reminders_are_rate_limited_by_min_interval() -> None:
    user = User(_dependence())
    times = [0, 10 * M, 59 * M, 60 * M, 61 * M, 2 * H]
    decisions = [user.at(T0 + t, attachment=True) for t in times]
    assert [d.dependence_signals for d in decisions] == [("attachment",)] * len(times)
    assert [d.dependence_reminder for d in decisions] == [True, False, False, True, False, True]


def test_several_signals_are_listed_in_a_fixed_order() -> None:
    user = User(_dependence(sessions_per_day=1, late_night_start="23:00", late_night_end="05:00"))
    decision = user.at(local(2026, 3, 2, 23, 30), attachment=True)
    assert decision.dependence_signals == ("sessions_per_day", "late_night", "attachment")


def test_no_dependence_signals_when_off() -> None:
    user = User(ClockParams())
    assert user.at(T0, attachment=True).dependence_signals == ()


# --- clock skew between replicas -----------------------------------------------------------------------

def test_a_request_stamped_earlier_counts_as_no_time_and_never_repeats_a_reminder() -> None:
    user = User(ClockParams(remind_every=2 * H, idle_reset=30 * M))
    for t in range(0, int(2 * H) + 1, 10 * 60):
        user.at(T0 + t)
    assert user.state is not None and user.state.usage_reminders == 1
    earlier = user.at(T0 + 2 * H - 30)
    assert not earlier.usage_reminder and not earlier.new_session
    assert user.state.last_seen == T0 + 2 * H
    assert user.at(T0 + 2 * H + 60).daily_used_seconds == 2 * H + 60


def test_a_lagging_replica_across_midnight_does_not_reset_the_new_day() -> None:
    user = User(ClockParams(daily_limit=1 * H))
    user.at(local(2026, 3, 2, 23, 58))
    after = user.at(local(2026, 3, 3, 0, 1))
    lagging = user.at(local(2026, 3, 2, 23, 59) + 30)
    assert (lagging.resets_at, lagging.daily_used_seconds) == (after.resets_at, after.daily_used_seconds)


# --- parameters ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [
    {"remind_every": 0}, {"idle_reset": -1}, {"relogin_gap": None}, {"daily_limit": float("inf")},
    {"day_timezone": "Mars/Olympus"}, {"day_timezone": "+15:00"},
])
def test_invalid_clock_params_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ClockParams(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("kwargs", [
    {"late_night_start": "23:00"}, {"late_night_start": "25:00", "late_night_end": "05:00"},
    {"late_night_start": "23:00", "late_night_end": "23:00"}, {"sessions_per_day": 0},
    {"daily_minutes": 0}, {"min_interval": -5}, {"timezone": "nowhere"},
])
def test_invalid_dependence_params_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        DependenceParams(**kwargs)  # type: ignore[arg-type]


def test_unnamed_sessions_get_unguessable_distinct_ids() -> None:
    ids = {advance(None, Observation(T0), ClockParams())[1].session_id for _ in range(100)}
    assert len(ids) == 100 and all(len(i) >= 16 for i in ids)
