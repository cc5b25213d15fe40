"""Derived counts of the audit log, kept in the log's own database: the port the console's overview
(``middleware/console/overview.py``) keeps its hourly rollup through, and an in-memory implementation.

The rollup is derived data, never evidence: ``audit verify`` reads only the events and stream heads and
never looks at it, and it can be dropped and counted again from the events at any time. The stores keep,
per stream (``adapters/stores/schemas.py`` ``AUDIT_ROLLUP``):

- counts per UTC hour (``hour`` = ``ts_us // 3600e6``) under a ``(group, name)`` the counter chooses;
- crises whose alert the overview follows (the crisis event's position and hour), and the outcomes the
  delivery events report (``delivered`` beats ``gave_up``; none: pending), each with its event's position;
- the span of ``seq`` counted so far (``first_seq`` .. ``read_to``): the watermark.

Only whole, contiguous spans are added: :meth:`RollupStore.rollup_advance` applies a delta in one
transaction only if the stream's watermark still stands where the delta's counting began
(compare-and-set), so two processes (or replicas) bringing the rollup up to date at once never count an
event twice; the one that lost reads the marks again and continues from there.

Retention deletes a stream's oldest events (``seq`` below its new signed anchor). An event's ``ts`` never
decreases within a stream, so what was deleted is every count of that stream in the hours before the
first kept event's hour, and part of that hour: :meth:`RollupStore.rollup_cut` drops those, puts back that
one hour counted again from its kept events, and drops the crises and outcomes of deleted events, again
compare-and-set on the watermark. A purge costs at most an hour of one stream's events, not the log.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

DELIVERED, GAVE_UP = "delivered", "gave_up"


@dataclass(frozen=True, slots=True)
class RollupMark:
    """How far a stream is counted: events ``first_seq`` .. ``read_to`` (inclusive)."""

    stream: str
    first_seq: int
    read_to: int


@dataclass(slots=True)
class RollupDelta:
    """What counting events ``first_seq`` .. ``read_to`` of one stream adds, continuing from ``expect``
    (the stream's ``read_to`` when counting began; 0: nothing counted yet)."""

    stream: str
    expect: int
    first_seq: int
    read_to: int
    counts: Counter[tuple[int, str, str]] = field(default_factory=Counter)   # (hour, group, name) -> n
    alerted: dict[str, tuple[int, int]] = field(default_factory=dict)        # crisis event id -> (seq, hour)
    outcomes: dict[tuple[int, str], str] = field(default_factory=dict)       # (seq, crisis event id) -> outcome

    def outcome(self, seq: int, event_id: str, outcome: str) -> None:
        """Note what delivery event ``seq`` reports of a crisis's alert (only final outcomes count)."""
        if outcome in (DELIVERED, GAVE_UP) and self.outcomes.get((seq, event_id)) != DELIVERED:
            self.outcomes[seq, event_id] = outcome


@dataclass(slots=True)
class RollupCut:
    """A retention purge of one stream, to take out of the rollup: events below ``first_seq`` are gone.
    ``hour`` is the first kept event's hour (``None``: nothing of the stream is kept): every count of the
    stream before it goes, and its counts of ``hour`` become ``counts`` (that hour counted again from the
    kept events up to the watermark). Applies only if the mark is still ``expect``."""

    stream: str
    expect: RollupMark
    first_seq: int
    read_to: int
    hour: int | None
    counts: Counter[tuple[int, str, str]] = field(default_factory=Counter)


@dataclass(frozen=True, slots=True)
class RollupFigures:
    """A period read back: ``counts`` as (bucket index, group, name, n), and the followed alerts of crises
    in the period by outcome (``None``: pending)."""

    counts: list[tuple[int, str, str, int]]
    alerts: dict[str | None, int]


def alert_rank(outcome: str | None) -> int:
    return 2 if outcome == DELIVERED else 1 if outcome == GAVE_UP else 0


RANKED: dict[int, str | None] = {2: DELIVERED, 1: GAVE_UP, 0: None}


@runtime_checkable
class RollupStore(Protocol):
    async def rollup_marks(self) -> dict[str, RollupMark]:
        """Every stream's watermark."""

    async def rollup_advance(self, delta: RollupDelta) -> bool:
        """Add ``delta`` and move its stream's mark to ``delta.read_to``, in one transaction, if the mark
        is still at ``delta.expect``; else change nothing and return False."""

    async def rollup_cut(self, cut: RollupCut) -> bool:
        """Take a purge out (see :class:`RollupCut`), in one transaction, if the mark is still
        ``cut.expect``; else change nothing and return False."""

    async def rollup_reset(self) -> None:
        """Forget every count, followed alert and mark (the next refresh counts the log again)."""

    async def rollup_read(self, first_hour: int, hours: int, step_hours: int) -> RollupFigures:
        """Counts of hours ``first_hour`` .. ``first_hour + hours - 1`` summed per bucket of ``step_hours``,
        and the followed alerts of crises in those hours by outcome."""


class MemoryRollupStore:
    """The rollup in this process's memory: for audit stores that keep none, and the reference the
    database rollups are tested against."""

    def __init__(self) -> None:
        self.rollup_reset_now()

    def rollup_reset_now(self) -> None:
        self.hours: dict[int, dict[str, Counter[tuple[str, str]]]] = {}      # hour -> stream -> counts
        self.alerted: dict[str, tuple[str, int, int]] = {}                  # crisis -> (stream, seq, hour)
        self.outcomes: dict[tuple[str, int, str], str] = {}                 # (stream, seq, crisis) -> outcome
        self.marks: dict[str, RollupMark] = {}

    async def rollup_marks(self) -> dict[str, RollupMark]:
        return dict(self.marks)

    async def rollup_advance(self, delta: RollupDelta) -> bool:
        mark = self.marks.get(delta.stream)
        if (mark.read_to if mark else 0) != delta.expect:
            return False
        self._add(delta.stream, delta.counts)
        for event_id, (seq, hour) in delta.alerted.items():
            self.alerted[event_id] = (delta.stream, seq, hour)
        for (seq, event_id), outcome in delta.outcomes.items():
            self.outcomes[delta.stream, seq, event_id] = outcome
        self.marks[delta.stream] = RollupMark(delta.stream, mark.first_seq if mark else delta.first_seq,
                                              delta.read_to)
        return True

    def _add(self, stream: str, counts: Counter[tuple[int, str, str]]) -> None:
        for (hour, group, name), n in counts.items():
            self.hours.setdefault(hour, {}).setdefault(stream, Counter())[group, name] += n

    async def rollup_cut(self, cut: RollupCut) -> bool:
        if self.marks.get(cut.stream) != cut.expect:
            return False
        for hour, streams in list(self.hours.items()):
            if cut.hour is None or hour <= cut.hour:
                streams.pop(cut.stream, None)
        self._add(cut.stream, cut.counts)
        self.alerted = {e: v for e, v in self.alerted.items() if not (v[0] == cut.stream and v[1] < cut.first_seq)}
        self.outcomes = {k: v for k, v in self.outcomes.items() if not (k[0] == cut.stream and k[1] < cut.first_seq)}
        self.marks[cut.stream] = RollupMark(cut.stream, cut.first_seq, cut.read_to)
        return True

    async def rollup_reset(self) -> None:
        self.rollup_reset_now()

    async def rollup_read(self, first_hour: int, hours: int, step_hours: int) -> RollupFigures:
        counts: Counter[tuple[int, str, str]] = Counter()
        for hour in range(first_hour, first_hour + hours):
            for per_stream in self.hours.get(hour, _EMPTY).values():
                for (group, name), n in per_stream.items():
                    counts[(hour - first_hour) // step_hours, group, name] += n
        best: dict[str, int] = {}
        for (_, _, event_id), outcome in self.outcomes.items():
            best[event_id] = max(best.get(event_id, 0), alert_rank(outcome))
        alerts: Counter[str | None] = Counter(RANKED[best.get(event_id, 0)]
                                              for event_id, (_, _, hour) in self.alerted.items()
                                              if first_hour <= hour < first_hour + hours)
        return RollupFigures([(b, g, n, v) for (b, g, n), v in counts.items()], dict(alerts))


_EMPTY: Mapping[str, Counter[tuple[str, str]]] = {}
