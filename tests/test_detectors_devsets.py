"""Every line of the shared development sets is classified as labelled."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from middleware.detectors import build_detectors

DEV_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "detectors"
DETECTORS = build_detectors()


def _lines(name: str) -> list[dict[str, Any]]:
    path = DEV_DIR / f"{name}.dev.jsonl"
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _params(name: str) -> list[Any]:
    rows = _lines(name)
    if not rows:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"dev set {name}.dev.jsonl not found in {DEV_DIR}"))]
    return [pytest.param(row, id=f"{row['label']}:{row['text'][:30]}") for row in rows]


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
