"""Measure the detection layer on labelled rows: ``python -m middleware.detectors.evaluate``.

By default it reads every held-back test split (``corpus/<task>.test.jsonl``, never trained on) and
prints precision, recall and F1 per label and per language, the goals of issue 11 and whether each is
met. ``--write-docs`` also replaces the figures section of ``docs/detectors.md``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from middleware.detectors.judgment import TASK_LABELS
from middleware.detectors.layer import DetectionLayer, default_layer
from middleware.detectors.metrics import LabelFigures, false_alarm_rate, figures
from middleware.detectors.model import ModelBank
from middleware.detectors.rows import Row, read_rows

CORPUS_DIR = Path(__file__).parent / "corpus"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "detectors.md"
BEGIN, END = "<!-- figures:begin -->", "<!-- figures:end -->"
COMMAND = "python -m middleware.detectors.evaluate --write-docs"


@dataclass
class TaskResult:
    task: str
    rows: int
    overall: list[LabelFigures]
    by_lang: dict[str, list[LabelFigures]]
    false_alarms: float
    context_recall: float | None     # explicit_intent rows decided by earlier turns
    context_support: int
    tiers: dict[str, int] = field(default_factory=dict)
    predicted: list[str] = field(default_factory=list)

    def label(self, name: str) -> LabelFigures | None:
        return next((f for f in self.overall if f.label == name), None)


def evaluate(task: str, rows: Sequence[Row], layer: DetectionLayer | None = None) -> TaskResult:
    layer = layer or default_layer()
    predicted: list[str] = []
    tiers: dict[str, int] = {}
    for row in rows:
        j = layer.judge(task, row.text, row.context, row.asked)
        predicted.append(j.label)
        if j.label != "none":
            tiers[j.tier] = tiers.get(j.tier, 0) + 1
    gold = [r.label for r in rows]
    by_lang = {}
    for lang in sorted({r.lang for r in rows}):
        idx = [i for i, r in enumerate(rows) if r.lang == lang]
        by_lang[lang] = figures(task, [gold[i] for i in idx], [predicted[i] for i in idx])
    ctx = [i for i, r in enumerate(rows) if r.context and r.label == "explicit_intent"]
    ctx_recall = sum(predicted[i] == "explicit_intent" for i in ctx) / len(ctx) if ctx else None
    return TaskResult(task, len(rows), figures(task, gold, predicted), by_lang, false_alarm_rate(gold, predicted),
                      ctx_recall, len(ctx), tiers, predicted)


# (task, what, measure, goal); "at most" in the name turns the goal into a ceiling
GOALS: list[tuple[str, str, Callable[[TaskResult], float | None], float]] = [
    ("crisis", "explicit_intent recall", lambda r: _get(r, "explicit_intent", "recall"), 0.95),
    ("crisis", "explicit_intent precision", lambda r: _get(r, "explicit_intent", "precision"), 0.90),
    ("crisis", "distress recall", lambda r: _get(r, "distress", "recall"), 0.85),
    ("crisis", "property_loss recall", lambda r: _get(r, "property_loss", "recall"), 0.90),
    ("crisis", "context-decided explicit_intent recall", lambda r: r.context_recall, 0.90),
    ("crisis", "false alarms on none rows (at most)", lambda r: r.false_alarms, 0.05),
    ("human_claim", "claim F1", lambda r: _get(r, "claim", "f1"), 0.90),
    ("exit", "exit F1", lambda r: _get(r, "exit", "f1"), 0.90),
    ("retention_plea", "plea F1", lambda r: _get(r, "plea", "f1"), 0.90),
    ("emotional_manipulation", "manipulation F1", lambda r: _get(r, "manipulation", "f1"), 0.90),
    ("privacy_probing", "probing F1", lambda r: _get(r, "probing", "f1"), 0.90),
]


def _get(r: TaskResult, label: str, what: str) -> float | None:
    f = r.label(label)
    return None if f is None else float(getattr(f, what))


def goal_lines(results: dict[str, TaskResult]) -> list[tuple[str, str, float | None, float, bool]]:
    out = []
    for task, what, measure, goal in GOALS:
        if task not in results:
            continue
        value = measure(results[task])
        at_most = "at most" in what
        met = value is not None and (value <= goal if at_most else value >= goal)
        out.append((task, what, value, goal, met))
    return out


def markdown(results: dict[str, TaskResult], layer: DetectionLayer, seconds: float, command: str = COMMAND,
             tiers: str = "patterns + served models (layer.SERVED_MODELS)") -> str:
    lines = [f"Produced by `{command}` on the held-back test splits",
             "(`middleware/detectors/corpus/*.test.jsonl`, written apart from the training corpus and never trained",
             f"on). Tiers: {tiers}.", ""]
    lines += ["### Goals (issue 11)", "", "| task | measure | value | goal | met |", "|---|---|---|---|---|"]
    for task, what, value, goal, met in goal_lines(results):
        shown = "n/a" if value is None else f"{value:.3f}"
        lines.append(f"| {task} | {what} | {shown} | {goal:.2f} | {'yes' if met else '**no**'} |")
    for task, r in results.items():
        tiers = ", ".join(f"{k} {v}" for k, v in sorted(r.tiers.items())) or "none"
        lines += ["", f"### {task} ({r.rows} rows; tiers run: {', '.join(layer.tiers(task))}; positives decided"
                  f" by: {tiers})", "", "| language | label | precision | recall | F1 | support |",
                  "|---|---|---|---|---|---|"]
        for lang, figs in [("all", r.overall), *r.by_lang.items()]:
            for f in figs:
                lines.append(f"| {lang} | {f.label} | {f.precision:.3f} | {f.recall:.3f} | {f.f1:.3f} | {f.support} |")
        extra = [f"false alarms on `none` rows: {r.false_alarms:.3f}"]
        if r.context_recall is not None:
            extra.append(f"explicit_intent decided by earlier turns: recall {r.context_recall:.3f}"
                         f" (n={r.context_support})")
        lines += ["", "; ".join(extra) + "."]
    lines += ["", f"({sum(r.rows for r in results.values())} rows judged in {seconds:.1f} s.)"]
    return "\n".join(lines)


def write_docs(text: str, path: Path = DOCS) -> None:
    doc = path.read_text(encoding="utf-8")
    if BEGIN not in doc or END not in doc:
        raise SystemExit(f"{path} has no {BEGIN} ... {END} section")
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(head + BEGIN + "\n" + text + "\n" + END + tail, encoding="utf-8")


def run(tasks: Sequence[str], corpus: Path = CORPUS_DIR, split: str = "test",
        layer: DetectionLayer | None = None) -> dict[str, TaskResult]:
    layer = layer or default_layer()
    results = {}
    for task in tasks:
        path = corpus / f"{task}.{split}.jsonl"
        if path.exists():
            results[task] = evaluate(task, read_rows(path, task), layer)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m middleware.detectors.evaluate", description=__doc__.split("\n")[0])
    parser.add_argument("--task", action="append", choices=sorted(TASK_LABELS))
    parser.add_argument("--corpus", type=Path, default=CORPUS_DIR)
    parser.add_argument("--split", default="test", help="file infix: corpus/<task>.<split>.jsonl (default: test)")
    parser.add_argument("--write-docs", action="store_true", help=f"replace the figures section of {DOCS.name}")
    parser.add_argument("--all-models", action="store_true",
                        help="every shipped model, not only the served ones (layer.SERVED_MODELS)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    layer = DetectionLayer(models=ModelBank.load()) if args.all_models else default_layer()
    results = run(args.task or list(TASK_LABELS), args.corpus, args.split, layer)
    command = COMMAND + (" --all-models" if args.all_models else "")
    tiers = "patterns + every shipped model" if args.all_models else "patterns + served models (layer.SERVED_MODELS)"
    text = markdown(results, layer, time.perf_counter() - start, command, tiers)
    print(text)
    if args.write_docs:
        write_docs(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
