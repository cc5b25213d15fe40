"""The goals of issue 11, measured on the held-back test split with every shipped model on (the model tier
as trained; which serve by default is ``layer.SERVED_MODELS``: every task's, see docs/detectors.md).

This measures generalisation: the test rows (``corpus/*.test.jsonl``) were written apart from the
training corpus and are never trained on or tuned against (``train.py`` refuses them). A goal the
shipped models do not reach yet is marked ``xfail(strict=True)`` with the measured value in
docs/detectors.md, so the test fails loudly the day it is reached and the mark must go.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from middleware.detectors.evaluate import GOALS, TaskResult, evaluate, goal_lines
from middleware.detectors.layer import DetectionLayer
from middleware.detectors.model import ModelBank
from middleware.detectors.rows import read_rows

CORPUS = Path(__file__).resolve().parents[1] / "middleware" / "detectors" / "corpus"
# Goals not met by the shipped models on the test split (see docs/detectors.md, "Goals").
# Crisis: split 8, written blind and read once (2026-12-01); docs/detectors.md has splits 2-7 before it. Every goal
# is met on it (explicit-intent recall 0.970, context-decided 1.000).
NOT_MET: set[tuple[str, str]] = set()

_results: dict[str, TaskResult] = {}
_layers: list[DetectionLayer] = []


def _every_model() -> DetectionLayer:
    if not _layers:
        _layers.append(DetectionLayer(models=ModelBank.load()))
    return _layers[0]


def _result(task: str) -> TaskResult:
    if task not in _results:
        path = CORPUS / f"{task}.test.jsonl"
        if not path.exists():
            pytest.skip(f"no test split {path}")
        _results[task] = evaluate(task, read_rows(path, task), _every_model())
    return _results[task]


def _params() -> list[object]:
    out = []
    for task, what, _, goal in GOALS:
        marks = [pytest.mark.xfail(strict=True, reason="goal not met yet")] if (task, what) in NOT_MET else []
        out.append(pytest.param(task, what, goal, marks=marks, id=f"{task}:{what}"))
    return out


@pytest.mark.parametrize(("task", "what", "goal"), _params())
def test_goal_on_the_held_back_test_split(task: str, what: str, goal: float) -> None:
    result = _result(task)
    (line,) = [g for g in goal_lines({task: result}) if g[1] == what]
    _, _, value, _, met = line
    assert met, f"{task} {what}: {value} (goal {goal})"
