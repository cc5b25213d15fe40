"""Every line of the shared development sets is classified as labelled."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from middleware.detectors import build_detectors
from middleware.detectors.train import DEV_DIR

# the shared development sets beside the workspace, of which the repository keeps a copy (corpus/dev)
SHARED_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "detectors"
DETECTORS = build_detectors()
TASKS = ("crisis", "exit", "human_claim", "retention_plea")


def _lines(name: str) -> list[dict[str, Any]]:
    with (DEV_DIR / f"{name}.dev.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _params(name: str) -> list[Any]:
    return [pytest.param(row, id=f"{row['label']}:{row['text'][:30]}") for row in _lines(name)]


def test_the_repository_keeps_every_development_set() -> None:
    assert sorted(p.name for p in DEV_DIR.glob("*.dev.jsonl")) == sorted(f"{t}.dev.jsonl" for t in TASKS)
    assert all(len(_lines(t)) >= 10 for t in TASKS)


@pytest.mark.skipif(not SHARED_DIR.is_dir(), reason=f"no shared development sets at {SHARED_DIR} to compare with")
@pytest.mark.parametrize("task", TASKS)
def test_the_copy_matches_the_shared_development_set(task: str) -> None:
    shared = (SHARED_DIR / f"{task}.dev.jsonl").read_bytes()
    assert (DEV_DIR / f"{task}.dev.jsonl").read_bytes() == shared


@pytest.mark.parametrize("row", _params("human_claim"))
def test_human_claim_devset(row: dict[str, Any]) -> None:
    assert DETECTORS.human_claim.detect(row["text"]).matched == (row["label"] == "claim")


@pytest.mark.parametrize("row", _params("crisis"))
def test_crisis_devset(row: dict[str, Any]) -> None:
    assert DETECTORS.crisis.detect(row["text"]).label == row["label"]


@pytest.mark.parametrize("row", _params("exit"))
def test_exit_devset(row: dict[str, Any]) -> None:
    assert DETECTORS.exit_intent.detect(row["text"]).matched == (row["label"] == "exit")


@pytest.mark.parametrize("row", _params("retention_plea"))
def test_retention_plea_devset(row: dict[str, Any]) -> None:
    assert DETECTORS.retention_plea.detect(row["text"]).matched == (row["label"] == "plea")
