"""Train the model tier: ``python -m middleware.detectors.train [--task T ...]``.

Reads ``middleware/detectors/corpus/<task>.train.jsonl`` (and the shared development set of the task,
when present, as extra training rows); never a ``*.test.jsonl`` file, which is refused. For each task:

1. features: the hashed n-grams of ``features.py`` (normalised text); rows whose earlier turns matter
   also get the context-crossed features, with the context's label read by a first model trained
   on the rows without context;
2. model: logistic regression per positive label, one against the rest (scikit-learn, liblinear),
   classes balanced; the regularisation ``C`` picked by 5-fold stratified cross-validation, grouped
   so that the augmented variants of a sentence stay in its fold (see ``groups``);
3. thresholds: per positive label, the one that maximises F-beta on the out-of-fold probabilities
   (beta 2 for explicit_intent and property_loss, where a miss is the costly error; else 1);
4. writes ``models/<task>.npz`` (weights as float16, only buckets with a weight) and
   ``models/<task>.cv.json`` (the cross-validated figures). Deterministic: same corpus, same weights.

Needs the ``train`` extra (scikit-learn); serving needs only numpy.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from middleware.detectors.features import DIM, buckets, hashes
from middleware.detectors.judgment import CONTEXT_TASKS, TASK_LABELS, severity
from middleware.detectors.layer import DetectionLayer, decide
from middleware.detectors.model import MODEL_DIR, ModelBank, TaskModel, context_salt, save
from middleware.detectors.rows import Row, read_rows
from middleware.detectors.textnorm import normalize

CORPUS_DIR = Path(__file__).parent / "corpus"
# The shared development sets sit beside the checkout (``<workspace>/shared/data/detectors``).
DEV_DIR = next((p / "shared" / "data" / "detectors" for p in Path(__file__).resolve().parents
                if (p / "shared" / "data" / "detectors").is_dir()), Path("shared/data/detectors"))
C_GRID = (8.0, 32.0, 128.0)
FOLDS = 5
BETA = {"explicit_intent": 2.0, "property_loss": 2.0}
# Context levels that get crossed features, per request-side task.
CONTEXT_LEVELS = {"crisis": ("explicit_intent", "distress"), "exit": ("exit",)}


def training_rows(task: str, corpus: Path = CORPUS_DIR, dev: Path | None = DEV_DIR) -> list[Row]:
    files = [corpus / f"{task}.train.jsonl"]
    if dev is not None:
        dev_name = {"exit": "exit"}.get(task, task)
        files.append(dev / f"{dev_name}.dev.jsonl")
    rows: list[Row] = []
    for f in files:
        if f.name.endswith(".test.jsonl") or f.resolve().name.endswith(".test.jsonl"):
            raise SystemExit(f"refusing to train on a test split: {f}")
        if f.exists():
            rows += read_rows(f, task)
    return rows


def _vector(text: str, ctx: str, task: str) -> tuple[npt.NDArray[np.intp], float]:
    raw = hashes(normalize(text).text)
    base = buckets(raw)
    scale = 1.0 / math.sqrt(max(len(base), 1))
    if ctx != "none" and ctx in CONTEXT_LEVELS.get(task, ()):
        crossed = buckets(raw, context_salt(ctx))
        bias = buckets(np.array([0], dtype=np.uint64), context_salt(ctx) ^ 0x1)
        return np.concatenate((base, crossed, bias)), scale
    return base, scale


def matrix(task: str, rows: Sequence[Row], contexts: Sequence[str]) -> Any:
    from scipy.sparse import csr_matrix

    indptr, indices, data = [0], [], []
    for row, ctx in zip(rows, contexts, strict=True):
        cols, scale = _vector(row.text, ctx, task)
        indices.append(cols)
        data.append(np.full(len(cols), scale, dtype=np.float64))
        indptr.append(indptr[-1] + len(cols))
    x = csr_matrix((np.concatenate(data), np.concatenate(indices), np.array(indptr)), shape=(len(rows), DIM))
    x.sum_duplicates()
    return x


def _positive_labels(task: str) -> tuple[str, ...]:
    return tuple(x for x in TASK_LABELS[task] if x != "none")


def _fit(task: str, x: Any, y: Sequence[str], c: float) -> tuple[tuple[str, ...], Any, Any]:
    """One-vs-rest: a logistic regression per positive label (the label against every other row).

    Returns (positive labels, coef (labels x DIM), intercepts). One-vs-rest rather than multinomial:
    each label gets its own calibrated probability and threshold, and liblinear's dual solver is fast
    when there are far more features than rows."""
    from sklearn.linear_model import LogisticRegression

    labels = _positive_labels(task)
    coefs, intercepts = [], []
    for label in labels:
        target = np.array([1 if v == label else 0 for v in y])
        lr = LogisticRegression(C=c, class_weight="balanced", solver="liblinear", dual=True, max_iter=5000,
                                random_state=0)
        lr.fit(x, target)
        coefs.append(lr.coef_[0])
        intercepts.append(lr.intercept_[0])
    return labels, np.vstack(coefs), np.array(intercepts)


def _probs(labels: tuple[str, ...], coef: Any, intercept: Any, x: Any) -> list[dict[str, float]]:
    z = np.asarray(x @ coef.T) + intercept
    p = 1.0 / (1.0 + np.exp(-z))
    return [{lab: float(v) for lab, v in zip(labels, r, strict=True)} for r in p]


def _f_beta(gold: Sequence[bool], scores: Sequence[float], t: float, beta: float) -> float:
    tp = sum(g and s >= t for g, s in zip(gold, scores, strict=True))
    fp = sum((not g) and s >= t for g, s in zip(gold, scores, strict=True))
    fn = sum(g and s < t for g, s in zip(gold, scores, strict=True))
    if tp == 0:
        return 0.0
    p, r = tp / (tp + fp), tp / (tp + fn)
    return (1 + beta**2) * p * r / (beta**2 * p + r)


def thresholds(task: str, gold: Sequence[str], probs: Sequence[dict[str, float]],
               patterns: Sequence[str] | None = None) -> dict[str, float]:
    """Per label, the threshold that maximises F-beta of the layer's decision on the out-of-fold rows:
    a row is given the label when the pattern tier found it (``patterns``) or the model's probability
    reaches the threshold, so the model is not made to re-find, at the cost of false alarms, what the
    patterns already catch."""
    out = {}
    found = patterns or ["none"] * len(gold)
    for label in _positive_labels(task):
        g = [v == label for v in gold]
        s = [1.0 if f == label else p.get(label, 0.0) for p, f in zip(probs, found, strict=True)]
        grid = [i / 100 for i in range(5, 96)]
        beta = BETA.get(label, 1.0)
        best = max(grid, key=lambda t: (_f_beta(g, s, t, beta), -abs(t - 0.5)))
        out[label] = best
    return out


def groups(rows: Sequence[Row], x: Any) -> npt.NDArray[np.intp]:
    """A group per hand-written row; an augmented row (a typo, emoji or spacing variant of one) joins
    the group of the hand-written row it is most similar to. Cross-validation keeps a group in one
    fold, so a variant of a validation sentence is never trained on: without it the figures flatter
    memorising and pick too little regularisation."""
    aug = np.array([i for i, r in enumerate(rows) if r.source.startswith("augmented")], dtype=np.intp)
    hand = np.array([i for i, r in enumerate(rows) if not r.source.startswith("augmented")], dtype=np.intp)
    group = np.arange(len(rows), dtype=np.intp)
    if len(aug) and len(hand):
        for start in range(0, len(aug), 512):
            part = aug[start : start + 512]
            sim = (x[part] @ x[hand].T).toarray()
            group[part] = hand[sim.argmax(axis=1)]
    return group


def _folds(y: Sequence[str], group: npt.NDArray[np.intp]) -> list[tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]]:
    from sklearn.model_selection import StratifiedGroupKFold

    skf = StratifiedGroupKFold(n_splits=FOLDS, shuffle=True, random_state=0)
    return list(skf.split(np.zeros(len(y)), np.array(y), group))


def _pattern_labels(task: str, rows: Sequence[Row], contexts: Sequence[str]) -> list[str]:
    """What the pattern tier alone says of each row (its earlier turns read as ``contexts`` say)."""
    layer = DetectionLayer(use_models=False)
    return [layer.pattern(task, layer.read(r.text), ctx).label for r, ctx in zip(rows, contexts, strict=True)]


def _context_levels(task: str, rows: Sequence[Row], first: TaskModel | None, weights: Any) -> list[str]:
    """Label of each row's earlier turns, read by the layer with the first (context-free) model."""
    if task not in CONTEXT_TASKS or not any(r.context for r in rows):
        return ["none"] * len(rows)
    bank = ModelBank({task: first} if first else {}, weights)
    layer = DetectionLayer(models=bank)
    out = []
    for r in rows:
        level = layer._context_level(task, r.context) if r.context else "none"
        out.append(level if level in CONTEXT_LEVELS.get(task, ()) else "none")
    return out


def _as_task_model(task: str, labels: tuple[str, ...], coef: Any, intercept: Any,
                   th: dict[str, float]) -> tuple[TaskModel, Any]:
    weights = np.ascontiguousarray(np.asarray(coef, dtype=np.float32).T)
    tm = TaskModel(task, labels, 0, np.asarray(intercept, dtype=np.float32), th, CONTEXT_LEVELS.get(task, ()))
    return tm, weights


def train_task(task: str, rows: Sequence[Row], out_dir: Path = MODEL_DIR, log: Any = print) -> dict[str, Any]:
    y = [r.label for r in rows]
    # 1. a context-free model reads the earlier turns of the rows that have them
    plain = [i for i, r in enumerate(rows) if not r.context]
    first_model, first_weights = None, np.zeros((DIM, 0), dtype=np.float32)
    if task in CONTEXT_TASKS and len(plain) < len(rows):
        px = matrix(task, [rows[i] for i in plain], ["none"] * len(plain))
        labels, coef, intercept = _fit(task, px, [y[i] for i in plain], C_GRID[0])
        first_model, first_weights = _as_task_model(task, labels, coef, intercept,
                                                    {k: 0.5 for k in _positive_labels(task)})
    contexts = _context_levels(task, rows, first_model, first_weights)
    x = matrix(task, rows, contexts)
    # 2. C by cross-validation, 3. thresholds on the out-of-fold probabilities of the chosen C
    folds = _folds(y, groups(rows, x))
    found = _pattern_labels(task, rows, contexts)
    best: tuple[float, float, list[dict[str, float]]] | None = None
    for c in C_GRID:
        oof: list[dict[str, float]] = [{} for _ in rows]
        for train_idx, val_idx in folds:
            labels, coef, intercept = _fit(task, x[train_idx], [y[i] for i in train_idx], c)
            for i, p in zip(val_idx, _probs(labels, coef, intercept, x[val_idx]), strict=True):
                oof[i] = p
        th = thresholds(task, y, oof, found)
        macro = _macro_f1(task, y, oof, th, found)
        log(f"  {task}: C={c:g} cross-validated macro F1 {macro:.3f}")
        if best is None or macro > best[1]:
            best = (c, macro, oof)
    assert best is not None
    c, macro, oof = best
    th = thresholds(task, y, oof, found)
    labels, coef, intercept = _fit(task, x, y, c)
    cv = _cv_figures(task, y, oof, th, found)
    metrics: dict[str, Any] = {"C": c, "rows": len(rows), "cv_macro_f1": round(macro, 4), "thresholds": th,
                               "cv": cv}
    out_dir.mkdir(parents=True, exist_ok=True)
    save(out_dir / f"{task}.npz", task=task, labels=labels, coef=coef, bias=intercept, thresholds=th,
         context_levels=CONTEXT_LEVELS.get(task, ()), metrics={"C": c, "rows": len(rows)})
    (out_dir / f"{task}.cv.json").write_text(json.dumps(metrics, indent=1, ensure_ascii=False) + "\n")
    return metrics


def _predict(task: str, probs: dict[str, float], th: dict[str, float], found: str) -> str:
    """The layer's decision: the more severe of the pattern tier's and the model's label."""
    tm = TaskModel(task, tuple(probs), 0, np.zeros(0, dtype=np.float32), th, ())
    label = decide(tm, probs)[0]
    return found if severity(task, found) < severity(task, label) else label


def _macro_f1(task: str, y: Sequence[str], probs: Sequence[dict[str, float]], th: dict[str, float],
              found: Sequence[str]) -> float:
    from middleware.detectors.metrics import figures

    pred = [_predict(task, p, th, f) for p, f in zip(probs, found, strict=True)]
    figs = [f for f in figures(task, y, pred) if f.label != "none"]
    return sum(f.f1 for f in figs) / len(figs) if figs else 0.0


def _cv_figures(task: str, y: Sequence[str], probs: Sequence[dict[str, float]], th: dict[str, float],
                found: Sequence[str]) -> dict[str, Any]:
    """Cross-validated figures of the layer (patterns + the out-of-fold model) per label."""
    from middleware.detectors.metrics import false_alarm_rate, figures

    pred = [_predict(task, p, th, f) for p, f in zip(probs, found, strict=True)]
    out: dict[str, Any] = {f.label: {"precision": round(f.precision, 3), "recall": round(f.recall, 3),
                                     "f1": round(f.f1, 3), "support": f.support} for f in figures(task, y, pred)}
    out["false_alarm_rate"] = round(false_alarm_rate(y, pred), 3)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m middleware.detectors.train", description=__doc__.split("\n")[0])
    parser.add_argument("--task", action="append", choices=sorted(TASK_LABELS), help="task(s) to train (default: "
                        "every task with a corpus file)")
    parser.add_argument("--corpus", type=Path, default=CORPUS_DIR)
    parser.add_argument("--dev", type=Path, default=DEV_DIR, help="shared development sets (extra training rows)")
    parser.add_argument("--out", type=Path, default=MODEL_DIR)
    args = parser.parse_args(argv)
    tasks = args.task or [t for t in TASK_LABELS if (args.corpus / f"{t}.train.jsonl").exists()]
    if not tasks:
        print(f"no training corpus in {args.corpus}", file=sys.stderr)
        return 1
    for task in tasks:
        rows = training_rows(task, args.corpus, args.dev)
        print(f"{task}: {len(rows)} training rows")
        metrics = train_task(task, rows, args.out)
        for label, f in metrics["cv"].items():
            if isinstance(f, dict):
                print(f"  cv {label:<16} P {f['precision']:.3f} R {f['recall']:.3f} F1 {f['f1']:.3f}"
                      f" (n={f['support']})")
        print(f"  cv false alarms on none rows: {metrics['cv']['false_alarm_rate']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
