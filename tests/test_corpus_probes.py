"""The blind probes (``middleware/detectors/corpus/probes/``): each file is rows of the task its name says, in the
development-set format ``candor detectors eval`` reads, and none is read by training (``train.py`` reads only
``<task>.train.jsonl``, the dev sets and the validation split)."""

from __future__ import annotations

from pathlib import Path

import pytest

from middleware.detectors import train
from middleware.detectors.judgment import TASK_LABELS
from middleware.detectors.rows import read_rows, task_of

PROBES = sorted((Path(train.__file__).parent / "corpus" / "probes").glob("*.probe*.jsonl"))


def test_there_are_probes_for_every_served_task() -> None:
    assert {p.name.split(".")[0] for p in PROBES} == {"crisis", "exit", "human_claim", "retention_plea",
                                                       "emotional_manipulation", "privacy_probing"}


@pytest.mark.parametrize("path", PROBES, ids=lambda p: p.name)
def test_a_probe_is_rows_of_the_task_its_name_says(path: Path) -> None:
    task = task_of(path)
    assert task in TASK_LABELS
    rows = read_rows(path, task)
    assert len(rows) >= 60
    assert {r.label for r in rows} <= set(TASK_LABELS[task])
    assert {r.lang for r in rows} <= {"zh", "en", "mixed"}


def test_training_reads_no_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[Path] = []

    def spy(files: list[Path], task: str) -> list[object]:
        read.extend(files)
        return []

    monkeypatch.setattr(train, "_read_refusing_tests", spy)
    for task in TASK_LABELS:
        train.training_rows(task)
        train.validation_rows(task)
    assert read and not any("probe" in f.name or f.parent.name == "probes" for f in read)
