"""Precision, recall and F1 per label (and per language) for a task's predictions on labelled rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from middleware.detectors.judgment import TASK_LABELS


@dataclass(frozen=True, slots=True)
class LabelFigures:
    label: str
    support: int      # rows labelled so
    predicted: int    # rows predicted so
    correct: int

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.correct / self.support if self.support else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def figures(task: str, gold: Sequence[str], predicted: Sequence[str]) -> list[LabelFigures]:
    """One ``LabelFigures`` per label of the task that occurs in gold or predictions."""
    out = []
    for label in TASK_LABELS[task]:
        support = sum(g == label for g in gold)
        pred = sum(p == label for p in predicted)
        if support or pred:
            correct = sum(g == p == label for g, p in zip(gold, predicted, strict=True))
            out.append(LabelFigures(label, support, pred, correct))
    return out


def binary_positive(task: str, gold: Sequence[str], predicted: Sequence[str]) -> LabelFigures:
    """Any non-"none" label counts as the positive class (detection, whatever the sub-label)."""
    g = ["hit" if x != "none" else "none" for x in gold]
    p = ["hit" if x != "none" else "none" for x in predicted]
    support = g.count("hit")
    return LabelFigures("any", support, p.count("hit"), sum(a == b == "hit" for a, b in zip(g, p, strict=True)))


def false_alarm_rate(gold: Sequence[str], predicted: Sequence[str]) -> float:
    """Share of rows labelled "none" that got another label."""
    nones = [p for g, p in zip(gold, predicted, strict=True) if g == "none"]
    return sum(p != "none" for p in nones) / len(nones) if nones else 0.0


def table(rows: Iterable[LabelFigures]) -> list[str]:
    lines = [f"{'label':<16} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>8} {'predicted':>9}"]
    for f in rows:
        lines.append(f"{f.label:<16} {f.precision:>9.3f} {f.recall:>7.3f} {f.f1:>6.3f} {f.support:>8} {f.predicted:>9}")
    return lines
