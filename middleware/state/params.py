"""Clock parameters (what a policy asks for, in seconds) and the calendar facts derived from them.

Parameters are a plain frozen dataclass so the state engine does not depend on the policy package: the
pipeline translates a policy into :class:`ClockParams` once, when the policy loads.

Everything that needs a time zone (the day boundary, the late-night window) is computed here, in Python,
into :class:`DayFacts`. The transition itself (``clock.transition`` and its Lua twin in the Redis adapter)
then only compares numbers, which is what keeps the two implementations provably equal.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_DAY_TIMEZONE = "Asia/Shanghai"
"""The CN measures count a day in Beijing time; other packs pass their own zone."""

_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@lru_cache(maxsize=64)
def resolve_timezone(spec: str) -> tzinfo:
    """An IANA zone name (``Asia/Shanghai``), ``UTC``, or a fixed offset (``+08:00``, ``UTC+8``)."""
    text = spec.strip()
    if text.upper() in ("UTC", "GMT", "Z"):
        return UTC
    match = _OFFSET.match(text)
    if match:
        sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
        if hours > 14 or minutes > 59:
            raise ValueError(f"{spec!r} is not a UTC offset: offsets run from -14:00 to +14:00")
        delta = timedelta(hours=hours, minutes=minutes)
        return timezone(-delta if sign == "-" else delta)
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"{spec!r} is not a time zone: use an IANA name such as Asia/Shanghai or America/New_York, "
            "or a UTC offset such as +08:00") from exc


@lru_cache(maxsize=64)
def parse_clock(value: str) -> int:
    """Minutes after local midnight for ``HH:MM``."""
    match = _CLOCK.match(value.strip())
    if not match:
        raise ValueError(f"{value!r} is not a time of day: write HH:MM, e.g. 23:00")
    return int(match.group(1)) * 60 + int(match.group(2))


def _positive(name: str, value: float | None) -> None:
    if value is not None and not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")


@dataclass(frozen=True, slots=True)
class DependenceParams:
    """Measurable signs of over-dependence (ANTH-DISCLOSE-2). Any signal that fires makes a reminder due,
    at most one per ``min_interval``. Thresholds are "reached" at equality."""

    daily_minutes: float | None = None
    """Minutes of use in the current (policy time zone) day."""
    sessions_per_day: int | None = None
    """Sessions started in the current day."""
    late_night_start: str | None = None
    """``HH:MM`` local time; the window may wrap midnight (23:00 to 05:00)."""
    late_night_end: str | None = None
    timezone: str | None = None
    """Zone of the late-night window; ``None`` means the day zone of :class:`ClockParams`."""
    attachment: bool = True
    """Whether the caller's ``attachment_signal`` (phrases such as "only you understand me") counts."""
    min_interval: float = 3600.0

    def __post_init__(self) -> None:
        minutes = self.daily_minutes
        if minutes is not None and not (minutes > 0 and math.isfinite(minutes)):
            raise ValueError(f"daily_minutes must be a positive number, got {self.daily_minutes!r}")
        if self.sessions_per_day is not None and self.sessions_per_day < 1:
            raise ValueError(f"sessions_per_day must be at least 1, got {self.sessions_per_day!r}")
        if (self.late_night_start is None) != (self.late_night_end is None):
            raise ValueError("late_night needs both a start and an end (HH:MM)")
        if (self.late_night_start is not None and self.late_night_end is not None
                and parse_clock(self.late_night_start) == parse_clock(self.late_night_end)):
            raise ValueError("late_night start and end are equal: the window would be empty")
        if self.timezone is not None:
            resolve_timezone(self.timezone)
        if not (self.min_interval >= 0 and math.isfinite(self.min_interval)):
            raise ValueError(
                f"min_interval must be zero or a positive number of seconds, got {self.min_interval!r}")

    @property
    def daily_seconds(self) -> float | None:
        return None if self.daily_minutes is None else self.daily_minutes * 60.0


@dataclass(frozen=True, slots=True)
class ClockParams:
    """When disclosures and reminders are due. Durations in seconds; ``None`` turns a feature off.

    ``relogin_gap`` is always set because it also delimits sessions the app does not name (no
    ``X-Candor-Session``): after this much inactivity the next request opens a new session, and because
    the user has been away it is a *re-login*. ``disclose_relogin`` says whether a re-login is disclosed
    even when the first-turn disclosure is off or throttled by ``first_turn_once_per``."""

    relogin_gap: float = 12 * 3600.0
    disclose_first_turn: bool = True
    first_turn_once_per: float | None = None
    first_turn_daily: bool = False
    """The first-turn disclosure at most once per calendar day in ``day_timezone`` (NY-47-2)."""
    disclose_relogin: bool = True
    disclosure_every: float | None = None
    disclosure_lead: float = 0.0
    """Give the periodic disclosure this much before ``disclosure_every``: set to ``idle_reset``, no stretch of
    continuous use goes longer than ``disclosure_every`` without one ("at least every 3 hours")."""
    idle_reset: float = 30 * 60.0
    """A gap this long ends a stretch of continuous use; shorter gaps count as use."""
    remind_every: float | None = None
    reality_every: float | None = None
    reality_lead: float = 0.0
    """As ``disclosure_lead``, for the reality (break) reminder (CA-243-3)."""
    daily_limit: float | None = None
    dependence: DependenceParams | None = None
    day_timezone: str = DEFAULT_DAY_TIMEZONE

    def __post_init__(self) -> None:
        for name in ("relogin_gap", "idle_reset"):
            value = getattr(self, name)
            if value is None:
                raise ValueError(f"{name} cannot be None: it delimits sessions and stretches of use")
            _positive(name, value)
        optional = ("first_turn_once_per", "disclosure_every", "remind_every", "reality_every", "daily_limit")
        for name in optional:
            _positive(name, getattr(self, name))
        if self.first_turn_daily and self.first_turn_once_per is not None:
            raise ValueError("first_turn_daily and first_turn_once_per exclude each other")
        for lead, every in (("disclosure_lead", self.disclosure_every), ("reality_lead", self.reality_every)):
            value = getattr(self, lead)
            if not (value >= 0 and math.isfinite(value)) or (every is not None and value >= every):
                raise ValueError(f"{lead} must be zero or more and shorter than its interval, got {value!r}")
        resolve_timezone(self.day_timezone)


@dataclass(frozen=True, slots=True)
class DayFacts:
    """Calendar facts about one instant, in the policy's zones."""

    day_start: float
    """Epoch seconds of the local midnight that starts the day of ``now``."""
    day_end: float
    """Epoch seconds of the next local midnight: when daily counters reset."""
    late_night: bool


@lru_cache(maxsize=512)
def _day_bounds(zone: str, year: int, month: int, day: int) -> tuple[float, float]:
    tz = resolve_timezone(zone)
    start = datetime(year, month, day, tzinfo=tz)
    following = start.date() + timedelta(days=1)
    end = datetime(following.year, following.month, following.day, tzinfo=tz)
    return start.timestamp(), end.timestamp()


def day_facts(now: float, params: ClockParams) -> DayFacts:
    local = datetime.fromtimestamp(now, resolve_timezone(params.day_timezone))
    start, end = _day_bounds(params.day_timezone, local.year, local.month, local.day)
    return DayFacts(day_start=start, day_end=end, late_night=_late_night(now, local, params))


def _late_night(now: float, local_day: datetime, params: ClockParams) -> bool:
    dep = params.dependence
    if dep is None or dep.late_night_start is None or dep.late_night_end is None:
        return False
    local = local_day
    if dep.timezone is not None and dep.timezone != params.day_timezone:
        local = datetime.fromtimestamp(now, resolve_timezone(dep.timezone))
    minute = local.hour * 60 + local.minute
    start, end = parse_clock(dep.late_night_start), parse_clock(dep.late_night_end)
    if start < end:
        return start <= minute < end
    return minute >= start or minute < end
