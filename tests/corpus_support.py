"""The detectors' corpus as plain texts, for tests that hold a compiled speed-up to its Python definition."""

from __future__ import annotations

import json
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1] / "middleware" / "detectors" / "corpus"


def corpus_texts(limit: int) -> list[str]:
    """The first ``limit`` texts of every task's training split (conversations, which have no ``text``, left out)."""
    texts: list[str] = []
    for path in sorted(CORPUS.glob("*.train.jsonl")):
        with path.open(encoding="utf-8") as f:
            rows = (json.loads(line) for _, line in zip(range(limit), f, strict=False))
            texts += [r["text"] for r in rows if isinstance(r.get("text"), str)]
    return texts
