"""The usage clocks: one pure transition that decides, per request, which disclosures and reminders are due.

``advance(state, observation, params) -> (new_state, decision)`` holds all the logic. Stores only persist
:class:`UserState` atomically around it; the Redis store runs a Lua port of :func:`transition`, tested to
make the same decisions on randomised sequences.

Semantics (times are epoch seconds given by the caller, so tests never sleep):

* **Sessions.** A request names its session with ``X-Candor-Session`` (``session_hint``) or continues the
  user's latest one. A session is *open* until ``relogin_gap`` passes without a request in it, or until the
  user exits (``end_session`` closes all). A request for a session that is not open starts a new session.
  Several open sessions per user (two chat windows) do not restart each other. A new session after the
  user was away for ``relogin_gap`` (or had exited) is a **re-login**.
* **Use.** The time between two consecutive requests of a user counts as continuous use when it is shorter
  than ``idle_reset``; a longer gap ends the stretch of continuous use. A reminder is due at every multiple
  of ``remind_every`` of continuous use (2 h, 4 h, ...), each exactly once.
* **Daily use** (minors' daily limit, the ``daily_minutes`` signal) counts every minute of use in the day,
  whatever the gaps: after each request the user counts as using the service until the next request, for
  at most ``idle_reset`` (the silence that ends continuous use). So spaced-out use adds up as well (a message
  every 31 minutes for 6 hours is 6 hours of use, not none), and a longer gap never counts less than a
  shorter one.
* **Days** start at local midnight in ``day_timezone``. Daily use counts only the part of a gap after
  midnight; a session still open at midnight counts as one session of the new day.
* **Disclosure** on the first turn of a session (at most once per ``first_turn_once_per`` if set, or once
  per calendar day with ``first_turn_daily``), on re-login (``disclose_relogin``), and after
  ``disclosure_every`` of use since the last one (``disclosure_lead`` earlier: with the lead set to the idle
  reset, no stretch of continuous use goes longer than ``disclosure_every`` without one). A disclosure that
  was due but not delivered in a reply's text (the request was refused, or the reply was structured output
  or only tool calls) is owed (:func:`owe_disclosure`) and due on the next request.
* **Reality reminders** (minors) after ``reality_every`` of use since the last one (``reality_lead``
  earlier, as for the disclosure).
* **Clock skew** between replicas: time never runs backwards in the state (``last_seen`` is a maximum) and
  a request stamped earlier than the last one counts as a zero gap.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass, field, replace

from middleware.state.params import ClockParams, DayFacts, DependenceParams, day_facts

__all__ = [
    "MAX_OPEN_SESSIONS", "SIGNAL_ORDER", "ClockParams", "Decision", "DependenceParams", "Observation",
    "UserState", "advance", "end_sessions", "new_session_id", "owe_disclosure", "transition",
]

MAX_OPEN_SESSIONS = 8
"""Open sessions remembered per user; more than this and the least recently used one is forgotten."""

SIGNAL_ORDER = ("daily_minutes", "sessions_per_day", "late_night", "attachment")
"""Dependence signal names, in the order a decision lists them."""


@dataclass(frozen=True, slots=True)
class Observation:
    """One request of a user, as the clocks see it."""

    now: float
    session_hint: str | None = None
    """The ``X-Candor-Session`` header, if the app sent one (the caller bounds its length)."""
    attachment_signal: bool = False
    """The caller found an attachment phrase in the user's message."""


@dataclass(frozen=True, slots=True)
class UserState:
    """Everything remembered about one user (scope key) between requests."""

    current: str | None
    """Session of the latest request; ``None`` after the user exited."""
    sessions: dict[str, float]
    """Open sessions: id -> time of their latest request."""
    last_seen: float
    last_disclosed: float | None
    stretch_start: float
    """Start of the current stretch of continuous use."""
    usage_reminders: int
    """Usage reminders given in the current stretch (= multiples of ``remind_every`` passed)."""
    last_reality: float | None
    last_dependence: float | None
    day_start: float
    day_end: float
    daily_used: float
    sessions_today: int
    owed_disclosure: bool = False
    """A disclosure was due but not delivered in text (refusal, structured output): due next time."""


@dataclass(frozen=True, slots=True)
class Decision:
    """What is due for this request. The pipeline renders notices for the ``True`` flags."""

    session_id: str
    new_session: bool
    relogin: bool
    disclose: bool
    usage_reminder: bool
    continuous_seconds: float
    dependence_reminder: bool
    dependence_signals: tuple[str, ...]
    """Signals that fired on this request, reminder or not (a reminder may be rate-limited)."""
    reality_reminder: bool
    daily_used_seconds: float
    daily_limit_reached: bool
    resets_at: float
    """When the daily counters (and so the daily limit) reset: the next local midnight."""
    sessions_today: int
    continuous_minutes: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "continuous_minutes", math.floor(self.continuous_seconds / 60.0))


def new_session_id() -> str:
    """An unguessable id for a session the app did not name (it ends up in replies and the audit log)."""
    return "s_" + secrets.token_urlsafe(12)


def advance(state: UserState | None, obs: Observation, params: ClockParams,
            *, new_id: str | None = None) -> tuple[UserState, Decision]:
    """The next state and the decision for one request. ``new_id`` names a session opened without a
    hint (random when omitted; tests pass one to stay deterministic)."""
    return transition(state, obs, params, day_facts(obs.now, params), new_id or new_session_id())


def transition(state: UserState | None, obs: Observation, params: ClockParams, facts: DayFacts,
               new_id: str) -> tuple[UserState, Decision]:
    """:func:`advance` with the calendar already resolved. Mirrored line by line in ``adapters/state_redis``:
    change both together (the equivalence test will tell)."""
    now = obs.now
    hint = obs.session_hint or None

    # sessions
    if state is None:
        new_session, relogin, counted, gap = True, False, False, 0.0
        sessions: dict[str, float] = {}
        sid = hint or new_id
    else:
        gap = max(0.0, now - state.last_seen)
        counted = gap < params.idle_reset
        target = hint if hint is not None else state.current
        seen = None if target is None else state.sessions.get(target)
        new_session = seen is None or now - seen >= params.relogin_gap
        relogin = new_session and (state.current is None or gap >= params.relogin_gap)
        sid = hint if hint is not None else (new_id if new_session else str(target))
        sessions = {k: v for k, v in state.sessions.items() if now - v < params.relogin_gap}
    sessions[sid] = now if new_session else max(sessions.get(sid, now), now)
    while len(sessions) > MAX_OPEN_SESSIONS:
        del sessions[min((v, k) for k, v in sessions.items() if k != sid)[1]]

    # the day (a request stamped before the stored day, by a lagging replica, belongs to the stored day)
    if state is not None and facts.day_start <= state.day_start:
        day_start, day_end = state.day_start, state.day_end
        daily_used, sessions_today = state.daily_used, state.sessions_today
    else:
        day_start, day_end = facts.day_start, facts.day_end
        daily_used, sessions_today = 0.0, (0 if state is None or new_session else 1)
    if state is not None:
        # every minute of use: the gap since the last request, up to the idle reset (see the module doc)
        used_until = min(now, state.last_seen + params.idle_reset)
        daily_used += max(0.0, used_until - max(state.last_seen, day_start))
    if new_session:
        sessions_today += 1

    # continuous use and usage reminders
    if state is not None and counted:
        stretch_start, reminders = state.stretch_start, state.usage_reminders
    else:
        stretch_start, reminders = now, 0
    continuous = max(0.0, now - stretch_start)
    usage_reminder = False
    if params.remind_every is not None:
        due = math.floor(continuous / params.remind_every)
        if due > reminders:
            usage_reminder, reminders = True, due

    # disclosure
    last_disclosed = None if state is None else state.last_disclosed
    disclose = False
    if new_session:
        if params.disclose_first_turn:
            if params.first_turn_daily:
                fresh = last_disclosed is None or last_disclosed < day_start
            else:
                fresh = (params.first_turn_once_per is None or last_disclosed is None
                         or now - last_disclosed >= params.first_turn_once_per)
            if fresh:
                disclose = True
        if relogin and params.disclose_relogin:
            disclose = True
    if params.disclosure_every is not None:
        anchor = stretch_start if last_disclosed is None else max(last_disclosed, stretch_start)
        if now - anchor >= params.disclosure_every - params.disclosure_lead:
            disclose = True
    if state is not None and state.owed_disclosure:
        disclose = True
    if disclose:
        last_disclosed = now

    # reality reminders (minors)
    last_reality = None if state is None else state.last_reality
    reality = False
    if params.reality_every is not None:
        anchor = stretch_start if last_reality is None else max(last_reality, stretch_start)
        if now - anchor >= params.reality_every - params.reality_lead:
            reality, last_reality = True, now

    # dependence
    last_dependence = None if state is None else state.last_dependence
    signals: list[str] = []
    dependence = False
    dep = params.dependence
    if dep is not None:
        daily_seconds = dep.daily_seconds
        if daily_seconds is not None and daily_used >= daily_seconds:
            signals.append("daily_minutes")
        if dep.sessions_per_day is not None and sessions_today >= dep.sessions_per_day:
            signals.append("sessions_per_day")
        if facts.late_night:
            signals.append("late_night")
        if dep.attachment and obs.attachment_signal:
            signals.append("attachment")
        if signals and (last_dependence is None or now - last_dependence >= dep.min_interval):
            dependence, last_dependence = True, now

    new_state = UserState(
        current=sid, sessions=sessions, last_seen=now if state is None else max(state.last_seen, now),
        last_disclosed=last_disclosed, stretch_start=stretch_start, usage_reminders=reminders,
        last_reality=last_reality, last_dependence=last_dependence, day_start=day_start, day_end=day_end,
        daily_used=daily_used, sessions_today=sessions_today)
    decision = Decision(
        session_id=sid, new_session=new_session, relogin=relogin, disclose=disclose,
        usage_reminder=usage_reminder, continuous_seconds=continuous, dependence_reminder=dependence,
        dependence_signals=tuple(signals), reality_reminder=reality, daily_used_seconds=daily_used,
        daily_limit_reached=params.daily_limit is not None and daily_used >= params.daily_limit,
        resets_at=day_end, sessions_today=sessions_today)
    return new_state, decision


def end_sessions(state: UserState) -> UserState:
    """The state after the user exits: every open session is closed, so the next request starts anew."""
    return replace(state, current=None, sessions={})


def owe_disclosure(state: UserState) -> UserState:
    """The state after a disclosure that was due went undelivered: it is due on the next request."""
    return replace(state, owed_disclosure=True)
