"""Derived counts of the audit log, kept in the log's own database: the port the console's overview
(``middleware/console/overview.py``) keeps its hourly rollup through, and an in-memory implementation.

The rollup is derived data, never evidence: ``audit verify`` reads only the events and stream heads and
never looks at it, and it can be dropped and counted again from the events at any time. The stores keep
three things (``adapters/stores/schemas.py`` ``AUDIT_ROLLUP``):

- counts per UTC hour (``hour`` = ``ts_us // 3600e6``) under a ``(group, name)`` the counter chooses;
- crises whose alert the overview follows: the crisis event's hour, once its event was counted, and the
  alert's final outcome from its delivery events (``delivered`` beats ``gave_up``; none yet: pending);
- per stream, the span of ``seq`` counted so far (``first_seq`` .. ``read_to``): the watermark.

Only whole, contiguous spans are added: :meth:`RollupStore.rollup_advance` applies a delta in one
transaction only if the stream's watermark still stands where the delta's counting began
(compare-and-set), so two processes (or replicas) bringing the rollup up to date at once never count an
event twice; the one that lost reads the marks again and continues from there.
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
    alerted: dict[str, int] = field(default_factory=dict)                   # crisis event id -> its hour
    outcomes: dict[str, str] = field(default_factory=dict)                  # crisis event id -> outcome

    def outcome(self, event_id: str, outcome: str) -> None:
        """Note an alert's outcome: ``delivered`` once seen stays; ``gave_up`` only over nothing."""
        if outcome in (DELIVERED, GAVE_UP) and self.outcomes.get(event_id) != DELIVERED:
            self.outcomes[event_id] = outcome


@dataclass(frozen=True, slots=True)
class RollupFigures:
    """A period read back: ``counts`` as (bucket index, group, name, n), and the followed alerts of crises
    in the period by outcome (``None``: pending)."""

    counts: list[tuple[int, str, str, int]]
    alerts: dict[str | None, int]


@runtime_checkable
class RollupStore(Protocol):
    async def rollup_marks(self) -> dict[str, RollupMark]:
        """Every stream's watermark."""

    async def rollup_advance(self, delta: RollupDelta) -> bool:
        """Add ``delta`` and move its stream's mark to ``delta.read_to``, in one transaction, if the mark
        is still at ``delta.expect``; else change nothing and return False."""

    async def rollup_reset(self) -> None:
        """Forget every count, followed alert and mark (the next refresh counts the log again)."""

    async def rollup_read(self, first_hour: int, hours: int, step_hours: int) -> RollupFigures:
        """Counts of hours ``first_hour`` .. ``first_hour + hours - 1`` summed per bucket of ``step_hours``."""


class MemoryRollupStore:
    """The rollup in this process's memory: for audit stores that keep none, and the reference the
    database rollups are tested against."""

    def __init__(self) -> None:
        self.rollup_reset_now()

    def rollup_reset_now(self) -> None:
        self.hours: dict[int, Counter[tuple[str, str]]] = {}
        self.alerted: dict[str, int] = {}
        self.final: dict[str, str] = {}
        self.marks: dict[str, RollupMark] = {}

    async def rollup_marks(self) -> dict[str, RollupMark]:
        return dict(self.marks)

    async def rollup_advance(self, delta: RollupDelta) -> bool:
        mark = self.marks.get(delta.stream)
        if (mark.read_to if mark else 0) != delta.expect:
            return False
        for (hour, group, name), n in delta.counts.items():
            self.hours.setdefault(hour, Counter())[group, name] += n
        self.alerted.update(delta.alerted)
        for event_id, outcome in delta.outcomes.items():
            if self.final.get(event_id) != DELIVERED:
                self.final[event_id] = outcome
        self.marks[delta.stream] = RollupMark(delta.stream, mark.first_seq if mark else delta.first_seq,
                                              delta.read_to)
        return True

    async def rollup_reset(self) -> None:
        self.rollup_reset_now()

    async def rollup_read(self, first_hour: int, hours: int, step_hours: int) -> RollupFigures:
        counts: Counter[tuple[int, str, str]] = Counter()
        for hour in range(first_hour, first_hour + hours):
            for (group, name), n in self.hours.get(hour, _EMPTY).items():
                counts[(hour - first_hour) // step_hours, group, name] += n
        alerts: Counter[str | None] = Counter(self.final.get(event_id) for event_id, hour in self.alerted.items()
                                              if first_hour <= hour < first_hour + hours)
        return RollupFigures([(b, g, n, v) for (b, g, n), v in counts.items()], dict(alerts))


_EMPTY: Mapping[tuple[str, str], int] = {}
