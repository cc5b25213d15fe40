"""``candor detectors eval FILE.jsonl [--task T]`` (contract 6.1): measure the detectors on your own rows.

Rows are in the development-set format (``text`` or ``messages``, and ``label``). Prints precision,
recall and F1 per label, then per language; ``--errors`` also lists every row judged wrong (its line, its label,
the label given, its text), so an operator sees what to look at; ``--json`` prints the same as one JSON object. The task
comes from ``--task`` or from the file name ("crisis.mine.jsonl"). Exit 0 when the file was measured,
2 when it cannot be read (the message names the file and line).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from middleware.detectors.judgment import TASK_LABELS

if TYPE_CHECKING:
    from middleware.detectors.rows import Row

EVAL_TASKS = ("crisis", "human_claim", "exit", "retention_plea", "emotional_manipulation", "privacy_probing",
              "minor_safety", "prohibited_content")


def add_detectors_commands(subparsers: Any) -> None:
    group = subparsers.add_parser("detectors", help="the text detectors (measure them on your own data)")
    verbs = group.add_subparsers(dest="detectors_command", metavar="VERB", required=True)
    ev = verbs.add_parser("eval", help="precision, recall and F1 per label on a labelled JSONL file")
    ev.add_argument("file", type=Path, help="JSONL rows: {\"text\" | \"messages\", \"label\"}")
    ev.add_argument("--task", choices=EVAL_TASKS, help="the task the labels are for (default: from the file name)")
    ev.add_argument("--json", action="store_true", help="print the figures as JSON")
    ev.add_argument("--patterns-only", action="store_true", help="measure the pattern tier alone")
    ev.add_argument("--errors", action="store_true", help="also list every row judged wrong")
    ev.set_defaults(func=_eval)


def _misjudged(rows: list[Row], predicted: list[str]) -> list[dict[str, Any]]:
    """Every row whose judgment differs from its label, in file order."""
    return [{"line": row.line, "label": row.label, "predicted": said, "text": row.text,
             "earlier_turns": len(row.context)}
            for row, said in zip(rows, predicted, strict=True) if said != row.label]


def _error_line(e: dict[str, Any]) -> str:
    text = " ".join(str(e["text"]).split())
    text = text if len(text) <= 160 else text[:159] + "…"
    turns = e["earlier_turns"]
    context = f" (after {turns} earlier turn{'s' * (turns != 1)})" if turns else ""
    return f"  line {e['line']}: {e['label']} judged {e['predicted']}{context}: {text}"


def _eval(args: argparse.Namespace) -> int:
    from middleware.detectors.evaluate import evaluate
    from middleware.detectors.layer import DetectionLayer, default_layer
    from middleware.detectors.metrics import table
    from middleware.detectors.rows import RowError, read_rows, task_of

    path: Path = args.file
    task = args.task or task_of(path)
    if task is None:
        print(f"candor detectors eval: cannot tell the task from the file name {path.name!r}; pass --task "
              f"({', '.join(EVAL_TASKS)})", file=sys.stderr)
        return 2
    if not path.is_file():
        print(f"candor detectors eval: {path}: no such file", file=sys.stderr)
        return 2
    try:
        rows = read_rows(path, task)
    except (RowError, UnicodeDecodeError) as exc:
        print(f"candor detectors eval: {exc}", file=sys.stderr)
        return 2
    if not rows:
        print(f"candor detectors eval: {path}: no rows", file=sys.stderr)
        return 2
    layer = DetectionLayer(use_models=False) if args.patterns_only else default_layer()
    result = evaluate(task, rows, layer)
    if args.json:
        def figs(items: list[Any]) -> dict[str, Any]:
            return {f.label: {"precision": round(f.precision, 4), "recall": round(f.recall, 4), "f1": round(f.f1, 4),
                              "support": f.support, "predicted": f.predicted} for f in items}
        out = {"task": task, "rows": len(rows), "tiers": list(layer.tiers(task)), "labels": figs(result.overall),
               "languages": {lang: figs(f) for lang, f in result.by_lang.items()},
               "false_alarm_rate": round(result.false_alarms, 4)}
        if result.context_recall is not None:
            out["context_explicit_intent_recall"] = round(result.context_recall, 4)
        if args.errors:
            out["errors"] = _misjudged(rows, result.predicted)
        print(json.dumps(out, ensure_ascii=False, indent=1))
        return 0
    print(f"task {task}: {len(rows)} rows, tiers {'+'.join(layer.tiers(task))}")
    print("\n".join(table(result.overall)))
    for lang, figures in result.by_lang.items():
        print(f"\nlanguage {lang}:")
        print("\n".join(table(figures)))
    print(f"\nfalse alarms on 'none' rows: {result.false_alarms:.3f}")
    if result.context_recall is not None:
        print(f"explicit_intent decided by earlier turns: recall {result.context_recall:.3f}"
              f" (n={result.context_support})")
    if args.errors:
        wrong = _misjudged(rows, result.predicted)
        print(f"\nrows judged wrong: {len(wrong)} of {len(rows)}")
        for e in wrong:
            print(_error_line(e))
    return 0


assert set(EVAL_TASKS) == set(TASK_LABELS)
