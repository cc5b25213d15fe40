"""Evaluation: figures per label and language, the goals, and the docs section it rewrites."""

from __future__ import annotations

from pathlib import Path

import pytest

from middleware.detectors.evaluate import BEGIN, END, evaluate, goal_lines, markdown, write_docs
from middleware.detectors.layer import DetectionLayer
from middleware.detectors.metrics import false_alarm_rate, figures
from middleware.detectors.rows import Row

PATTERNS = DetectionLayer(use_models=False)


def test_figures_count_precision_recall_and_f1() -> None:
    gold = ["exit", "exit", "none", "none"]
    pred = ["exit", "none", "exit", "none"]
    (ex, no) = figures("exit", gold, pred)
    assert (ex.label, ex.support, ex.predicted, ex.correct) == ("exit", 2, 2, 1)
    assert ex.precision == ex.recall == ex.f1 == 0.5
    assert false_alarm_rate(gold, pred) == 0.5
    assert no.label == "none"


def test_evaluate_splits_by_language_and_reads_context() -> None:
    rows = [
        Row("我想自杀", "explicit_intent", lang="zh"),
        Row("I want to kill myself", "explicit_intent", lang="en"),
        Row("笑死我了", "none", lang="zh"),
        Row("那就今晚吧", "explicit_intent", ("活着没意思，药都攒够了",), lang="zh"),
    ]
    result = evaluate("crisis", rows, PATTERNS)
    assert set(result.by_lang) == {"zh", "en"}
    assert result.context_recall == 1.0 and result.context_support == 1
    assert result.false_alarms == 0.0
    assert result.tiers == {"pattern": 3}
    lines = goal_lines({"crisis": result})
    assert ("crisis", "explicit_intent recall", 1.0, 0.95, True) in lines
    assert "| zh | explicit_intent |" in markdown({"crisis": result}, PATTERNS, 0.1)


def test_write_docs_replaces_only_the_marked_section(tmp_path: Path) -> None:
    doc = tmp_path / "d.md"
    doc.write_text(f"head\n{BEGIN}\nold\n{END}\ntail\n", encoding="utf-8")
    write_docs("new figures", doc)
    assert doc.read_text(encoding="utf-8") == f"head\n{BEGIN}\nnew figures\n{END}\ntail\n"
    (tmp_path / "bare.md").write_text("no markers", encoding="utf-8")
    with pytest.raises(SystemExit, match="no"):
        write_docs("x", tmp_path / "bare.md")
