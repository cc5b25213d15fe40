"""For the tests that hold the detectors' compiled speed-ups to their Python definitions: the corpus as plain texts,
and when a build is expected at all."""

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


def skip_unless_speedups_expected() -> None:
    """Skip a test that holds a C speed-up built, where none can be: no C compiler (the one Python was built with) on
    this machine, or ``CANDOR_PURE_FEATURES`` turning them off."""
    import shutil
    import sysconfig

    import pytest

    from middleware.detectors import speedups

    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        pytest.skip(f"no C compiler ({compiler}) on this machine: the Python definitions serve")
    if speedups.PURE:
        pytest.skip("CANDOR_PURE_FEATURES turns the compiled speed-ups off")
