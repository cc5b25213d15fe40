"""Train the model tier: ``python -m middleware.detectors.train [--task T ...]``.

Reads ``middleware/detectors/corpus/<task>.train.jsonl`` (and the task's development set, ``corpus/dev``, as
extra training rows) and the validation split ``<task>.valid.jsonl``; never a
``*.test.jsonl`` file or a ``*.check.jsonl`` check set, which are refused. For each task:

1. features: the hashed n-grams of ``features.py`` (normalised text); the earlier turns of a conversation
   row are read by a first model trained on the rows without context. The base model is fitted on the rows
   whose earlier turns decide nothing; the context-crossed features on the others, with the base model's
   logits as a fixed offset (``_fit``), so a last turn like "那就今晚吧" never teaches "今晚" alone; a
   positive conversation row whose earlier turns read as benign is dropped (``_learnable``);
2. model: multinomial logistic regression over every label, ``none`` included (scikit-learn, lbfgs,
   classes balanced; the crossed features: the same loss with scipy's L-BFGS); the regularisation ``C``
   is the one of ``C_GRID`` with the best macro F1 on the validation split (written by other people than
   the training rows, so it rewards generalising);
3. decision: the most probable label; for crisis, explicit intent also from the probability of ``RECALL_GRID``
   whose validation figures (as served, patterns included) sit deepest inside the goals; on the output side
   (``THRESHOLD_TASKS``), where a flag rewrites a sentence, the positive label needs the highest probability
   threshold that keeps the validation F1 (as served, patterns included) within 0.02 of the best;
4. the shipped model is then fitted on the training rows and the validation split together, with that
   ``C``: more writers, more ways of saying things. ``models/<task>.npz`` (weights as float16, only
   buckets with a weight) and ``models/<task>.valid.json`` (the validation figures of the model fitted
   on the training rows alone, the one ``C`` was chosen with). Deterministic: same corpus, same weights.

Needs the ``train`` extra (scikit-learn); serving needs only numpy.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from middleware.detectors.features import DIM, buckets, hashes
from middleware.detectors.judgment import CONTEXT_TASKS, TASK_LABELS
from middleware.detectors.layer import DetectionLayer, decide
from middleware.detectors.model import MODEL_DIR, ModelBank, TaskModel, context_bias, context_salt, save
from middleware.detectors.rows import Row, read_rows
from middleware.detectors.textnorm import normalize

CORPUS_DIR = Path(__file__).parent / "corpus"
# The project's development sets, kept in the repository (``corpus/dev``, copied from the shared data), so that a
# checkout alone trains the same weights.
DEV_DIR = CORPUS_DIR / "dev"
C_GRID = (8.0, 32.0, 128.0)
# Output-side tasks: a flag rewrites or drops a sentence of the reply the user should have read, so a false alarm
# costs more than a miss (the patterns and the guard tier still stand). Their positive label needs the highest
# probability of THRESHOLD_GRID whose F1 on the validation split, as served (the model fitted on the training rows
# alone, with the patterns and their vetoes), is at most THRESHOLD_SLACK below the best threshold's: precision is
# bought with a bounded share of recall.
THRESHOLD_GRID = (0.5, 0.6, 0.7, 0.8)
THRESHOLD_SLACK = 0.02
THRESHOLD_TASKS = ("human_claim", "retention_plea", "emotional_manipulation")
# Crisis: explicit intent is also given below the most probable label, at the probability of RECALL_GRID that
# sits deepest inside the goals of issue 11 on the validation split: the one whose smallest margin to them
# (recall - 0.95, precision - 0.90, 0.05 - false alarms, of what serves: the patterns and the model fitted on the
# training rows alone) is largest. Why not "the lowest threshold the precision and false-alarm bounds allow": that
# rule spent the whole margin on recall (split 4: recall 0.985, precision 0.895, false alarms 6.0 %), and the same
# rule with bounds set inside the goals spent it on precision (split 5: recall 0.930, precision 0.925, false
# alarms 2.2 %); the validation split now holds five writers' splits, so the point in the middle is the one to aim at.
RECALL_GRID = (0.5, 0.45, 0.4, 0.35, 0.3)
RECALL_TASKS = {"crisis": ("explicit_intent", 0.95, 0.90, 0.05)}   # label, recall, precision, false alarms (goals)
# Context levels that get crossed features, per request-side task.
CONTEXT_LEVELS = {"crisis": ("explicit_intent", "distress"), "exit": ("exit",)}


# Files that are never training data: the held-back test splits and the check sets (``*.check.jsonl``: everyday,
# replies and narrative text written apart from every corpus to measure false alarms and recall on).
_NEVER_TRAINED = {".test.jsonl": "a test split", ".check.jsonl": "a check set"}


def _read_refusing_tests(files: Sequence[Path], task: str) -> list[Row]:
    rows: list[Row] = []
    for f in files:
        for suffix, what in _NEVER_TRAINED.items():
            if f.name.endswith(suffix) or f.resolve().name.endswith(suffix):
                raise SystemExit(f"refusing to train on {what}: {f}")
        if f.exists():
            rows += read_rows(f, task)
    return rows


def _key(row: Row) -> str:
    return re.sub(r"[\W_]+", "", row.text.lower())


def held_out_keys(task: str, corpus: Path = CORPUS_DIR) -> set[str]:
    """The texts of the task's validation rows (case, spaces and punctuation ignored): a training row that
    repeats one is dropped, so that the validation figures that choose ``C`` are not figures on training
    rows ("886" is written by many people). The test split is never opened here; that no training row
    repeats a test row is checked on the files (tests/test_corpus_test_split.py)."""
    path = corpus / f"{task}.valid.jsonl"
    return {_key(r) for r in read_rows(path, task)} if path.exists() else set()


def training_rows(task: str, corpus: Path = CORPUS_DIR, dev: Path | None = DEV_DIR) -> list[Row]:
    files = [corpus / f"{task}.train.jsonl"]
    if dev is not None:
        files.append(dev / f"{task}.dev.jsonl")
    held = held_out_keys(task, corpus)
    return [r for r in _read_refusing_tests(files, task) if _key(r) not in held]


def validation_rows(task: str, corpus: Path = CORPUS_DIR) -> list[Row]:
    """The validation split: chooses ``C`` and joins the final fit; never a test split."""
    return _read_refusing_tests([corpus / f"{task}.valid.jsonl"], task)


def _base(text: str) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.intp], float]:
    raw = hashes(normalize(text).text)
    base = buckets(raw)
    return raw, base, 1.0 / math.sqrt(max(len(base), 1))


def _crossed(raw: npt.NDArray[np.uint64], ctx: str) -> npt.NDArray[np.intp]:
    """The context-crossed features of a last turn (and the one "earlier turns were <ctx>" feature)."""
    return np.append(buckets(raw, context_salt(ctx)), np.intp(context_bias(ctx)))


def _csr(vectors: Sequence[tuple[npt.NDArray[np.intp], float]]) -> Any:
    from scipy.sparse import csr_matrix

    indptr, indices, data = [0], [], []
    for cols, scale in vectors:
        indices.append(cols)
        data.append(np.full(len(cols), scale, dtype=np.float64))
        indptr.append(indptr[-1] + len(cols))
    x = csr_matrix((np.concatenate(data) if data else np.zeros(0), np.concatenate(indices) if indices else
                    np.zeros(0, dtype=np.intp), np.array(indptr)), shape=(len(vectors), DIM))
    x.sum_duplicates()
    return x


def matrix(task: str, rows: Sequence[Row], contexts: Sequence[str]) -> tuple[Any, Any]:
    """(base features of every row, context-crossed features: a row of zeros where the context decides nothing).

    The two families are kept apart: the base model never sees a last turn whose earlier turns decide its
    label, so "那就今晚吧" after "药都攒够了" teaches the crossed features, not "今晚" alone."""
    base, crossed = [], []
    for row, ctx in zip(rows, contexts, strict=True):
        raw, b, scale = _base(row.text)
        base.append((b, scale))
        decisive = ctx != "none" and ctx in CONTEXT_LEVELS.get(task, ())
        crossed.append((_crossed(raw, ctx), scale) if decisive else (np.zeros(0, dtype=np.intp), scale))
    return _csr(base), _csr(crossed)


def _positive_labels(task: str) -> tuple[str, ...]:
    return tuple(x for x in TASK_LABELS[task] if x != "none")


def _fit_base(task: str, x: Any, y: Sequence[str], c: float) -> tuple[tuple[str, ...], Any, Any]:
    """Multinomial logistic regression over every label of the task, ``none`` included.

    Returns (labels in the task's order, coef (labels x DIM), intercepts). A label missing from ``y``
    gets a column of zeros and a very low intercept (it can never win)."""
    from sklearn.linear_model import LogisticRegression

    labels = TASK_LABELS[task]
    lr = LogisticRegression(C=c, class_weight="balanced", solver="lbfgs", max_iter=2000, tol=1e-5)
    lr.fit(x, np.array(y))
    classes = [str(k) for k in lr.classes_]
    if len(classes) == 2:  # scikit-learn keeps one column for two classes: w for the second, -w for the first
        full_coef = np.vstack([-lr.coef_[0] / 2, lr.coef_[0] / 2])
        full_icpt = np.array([-lr.intercept_[0] / 2, lr.intercept_[0] / 2])
    else:
        full_coef, full_icpt = lr.coef_, lr.intercept_
    coef = np.zeros((len(labels), x.shape[1]))
    icpt = np.full(len(labels), -30.0)
    for i, k in enumerate(classes):
        coef[labels.index(k)] = full_coef[i]
        icpt[labels.index(k)] = full_icpt[i]
    return labels, coef, icpt


def _fit_crossed(labels: tuple[str, ...], xc: Any, offset: Any, y: Sequence[str], c: float) -> Any:
    """Weights of the context-crossed features, fitted on the rows whose earlier turns decide, with the base
    model's logits as a fixed offset (its weights do not move): the softmax loss times ``C`` plus half the
    squared weights, as scikit-learn's. Returns coef (labels x DIM), zero outside the crossed buckets."""
    from scipy.optimize import minimize

    cols = np.unique(xc.indices)
    coef = np.zeros((len(labels), DIM))
    if not len(cols):
        return coef
    xs = xc[:, cols].tocsr()
    target = np.zeros((xs.shape[0], len(labels)))
    target[np.arange(xs.shape[0]), [labels.index(v) for v in y]] = 1.0
    k, m = len(labels), len(cols)

    def loss(w: Any) -> tuple[float, Any]:
        wm = w.reshape(k, m)
        z = np.asarray(xs @ wm.T) + offset
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        p = np.exp(logp)
        value = -c * float((target * logp).sum()) + 0.5 * float((wm * wm).sum())
        grad = c * np.asarray(xs.T @ (p - target)).T + wm
        return value, grad.ravel()

    res = minimize(loss, np.zeros(k * m), jac=True, method="L-BFGS-B", options={"maxiter": 2000})
    coef[:, cols] = res.x.reshape(k, m)
    return coef


def _fit(task: str, xb: Any, xc: Any, y: Sequence[str], c: float) -> tuple[tuple[str, ...], Any, Any]:
    """The base model on the rows whose earlier turns decide nothing, then the crossed features on the others.

    Returns (labels, coef (labels x DIM, both families summed: what serving sums), intercepts)."""
    decisive = np.diff(xc.indptr) > 0
    plain = np.flatnonzero(~decisive)
    labels, coef, icpt = _fit_base(task, xb[plain], [y[int(i)] for i in plain], c)
    if decisive.any():
        rows = np.flatnonzero(decisive)
        offset = np.asarray(xb[rows] @ coef.T) + icpt
        coef = coef + _fit_crossed(labels, xc[rows], offset, [y[int(i)] for i in rows], c)
    return labels, coef, icpt


def _probs(labels: tuple[str, ...], coef: Any, intercept: Any, x: tuple[Any, Any]) -> list[dict[str, float]]:
    z = np.asarray((x[0] + x[1]) @ coef.T) + intercept
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p = p / p.sum(axis=1, keepdims=True)
    return [{lab: float(v) for lab, v in zip(labels, r, strict=True)} for r in p]


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


def _as_task_model(task: str, labels: tuple[str, ...], coef: Any, intercept: Any) -> tuple[TaskModel, Any]:
    weights = np.ascontiguousarray(np.asarray(coef, dtype=np.float32).T)
    tm = TaskModel(task, labels, 0, np.asarray(intercept, dtype=np.float32), {}, CONTEXT_LEVELS.get(task, ()))
    return tm, weights


def _first_model(task: str, rows: Sequence[Row]) -> tuple[TaskModel | None, Any]:
    """The context-free model that reads earlier turns (trained on the rows without earlier turns)."""
    plain = [r for r in rows if not r.context]
    if task not in CONTEXT_TASKS or len(plain) == len(rows):
        return None, np.zeros((DIM, 0), dtype=np.float32)
    px, pc = matrix(task, plain, ["none"] * len(plain))
    labels, coef, intercept = _fit(task, px, pc, [r.label for r in plain], C_GRID[0])
    return _as_task_model(task, labels, coef, intercept)


def _learnable(task: str, rows: Sequence[Row], contexts: Sequence[str]) -> tuple[list[Row], list[str]]:
    """Drop the positive rows whose label the earlier turns decide when the first model reads those turns as
    benign: the crossed features cannot learn them, and the base features would learn the last turn alone
    ("那就今晚吧", "准备好了") as the label, which is what misreads everyday plans."""
    keep = [i for i, (r, c) in enumerate(zip(rows, contexts, strict=True))
            if not (r.context and c == "none" and r.label != "none" and task in CONTEXT_LEVELS)]
    return [rows[i] for i in keep], [contexts[i] for i in keep]


def train_task(task: str, rows: Sequence[Row], out_dir: Path = MODEL_DIR, log: Any = print,
               valid: Sequence[Row] = ()) -> dict[str, Any]:
    training = list(rows)
    thresholds: dict[str, float] = {}
    first_model, first_weights = _first_model(task, rows)
    rows, contexts = _learnable(task, rows, _context_levels(task, rows, first_model, first_weights))
    x = matrix(task, rows, contexts)
    y = [r.label for r in rows]
    c, figures_valid = C_GRID[0], None
    if valid:
        vctx = _context_levels(task, valid, first_model, first_weights)
        xv, yv = matrix(task, valid, vctx), [r.label for r in valid]
        best: tuple[float, float, list[dict[str, float]], tuple[Any, ...]] | None = None
        for cand in C_GRID:
            fitted = _fit(task, *x, y, cand)
            probs = _probs(*fitted, xv)
            macro = _macro_f1(task, yv, probs)
            log(f"  {task}: C={cand:g} validation macro F1 {macro:.3f}")
            if best is None or macro > best[1]:
                best = (cand, macro, probs, fitted)
        assert best is not None
        c, _, vprobs, fitted = best
        served: Predictions | None = None
        if task in THRESHOLD_TASKS or task in RECALL_TASKS:
            served = _served_predictions(task, valid, *fitted)
            choose = _choose_threshold if task in THRESHOLD_TASKS else _choose_recall_threshold
            thresholds = choose(task, yv, served, log)
        pred = served(thresholds) if served else [_predict(task, p, thresholds) for p in vprobs]
        figures_valid = _figures(task, yv, pred)
        # the shipped model: training rows and validation split together, the chosen C
        rows = [*training, *valid]
        first_model, first_weights = _first_model(task, rows)
        rows, contexts = _learnable(task, rows, _context_levels(task, rows, first_model, first_weights))
        x, y = matrix(task, rows, contexts), [r.label for r in rows]
    labels, coef, intercept = _fit(task, *x, y, c)
    metrics: dict[str, Any] = {"C": c, "rows": len(rows), "validation_rows": len(valid), "validation": figures_valid}
    if thresholds:
        metrics["thresholds"] = thresholds
    out_dir.mkdir(parents=True, exist_ok=True)
    save(out_dir / f"{task}.npz", task=task, labels=labels, coef=coef, bias=intercept, thresholds=thresholds,
         context_levels=CONTEXT_LEVELS.get(task, ()), metrics={"C": c, "rows": len(rows)})
    (out_dir / f"{task}.valid.json").write_text(json.dumps(metrics, indent=1, ensure_ascii=False) + "\n")
    return metrics


def _predict(task: str, probs: dict[str, float], thresholds: dict[str, float] | None = None) -> str:
    tm = TaskModel(task, tuple(probs), 0, np.zeros(0, dtype=np.float32), thresholds or {}, ())
    return decide(tm, probs)[0]


def _choose_threshold(task: str, y: Sequence[str], served: Predictions, log: Any) -> dict[str, float]:
    """The positive label's threshold: the highest of THRESHOLD_GRID whose validation F1, of what serves
    (``_served_predictions``: the patterns and their vetoes too), is within THRESHOLD_SLACK of the best one (a binary
    task); {} when that is 0.5 (the most probable label)."""
    (label,) = _positive_labels(task)
    f1: dict[float, float] = {}
    for t in THRESHOLD_GRID:
        pred = served({label: t} if t > 0.5 else {})
        tp = sum(g == label and q == label for g, q in zip(y, pred, strict=True))
        fp = sum(g != label and q == label for g, q in zip(y, pred, strict=True))
        fn = sum(g == label and q != label for g, q in zip(y, pred, strict=True))
        f1[t] = 2 * tp / (2 * tp + fn + fp) if tp else 0.0
        log(f"  {task}: threshold {t:.2f} validation F1 {f1[t]:.3f} (false alarms {fp}, misses {fn})")
    best = max(f1.values())
    chosen = max(t for t, f in f1.items() if f >= best - THRESHOLD_SLACK)
    return {label: chosen} if chosen > 0.5 else {}


Predictions = Callable[[dict[str, float]], list[str]]


def _served_predictions(task: str, valid: Sequence[Row], labels: tuple[str, ...], coef: Any,
                        intercept: Any) -> Predictions:
    """What would serve, as a function of the thresholds: the labels the detection layer (the patterns and the
    model fitted on the training rows alone) gives each validation row, earlier turns read by that layer as in
    serving. The goals are measured on what serves, so the threshold is chosen on it too: a pattern hit the
    model lets stand is a false alarm or a find like the model's own."""
    tm, weights = _as_task_model(task, labels, coef, intercept)

    def predict(thresholds: dict[str, float]) -> list[str]:
        model = TaskModel(task, tm.labels, 0, tm.bias, dict(thresholds), tm.context_levels)
        layer = DetectionLayer(models=ModelBank({task: model}, weights))
        return [layer.judge(task, r.text, r.context, r.asked).label for r in valid]

    return predict


def _choose_recall_threshold(task: str, y: Sequence[str], served: Predictions, log: Any) -> dict[str, float]:
    """The threshold of RECALL_GRID for the task's most severe label whose validation figures, of what serves
    (``_served_predictions``), have the largest smallest margin to the goals of RECALL_TASKS (ties: the higher
    threshold); {} when that is 0.5."""
    from middleware.detectors.metrics import false_alarm_rate

    label, min_recall, min_precision, max_false_alarms = RECALL_TASKS[task]
    best: tuple[float, float] | None = None
    for t in RECALL_GRID:
        pred = served({label: t} if t < 0.5 else {})
        tp = sum(g == label and q == label for g, q in zip(y, pred, strict=True))
        fp = sum(g != label and q == label for g, q in zip(y, pred, strict=True))
        n = sum(g == label for g in y)
        precision, recall, fa = tp / max(tp + fp, 1), tp / max(n, 1), false_alarm_rate(y, pred)
        margin = min(recall - min_recall, precision - min_precision, max_false_alarms - fa)
        log(f"  {task}: {label} threshold {t:.2f} validation R {recall:.3f} P {precision:.3f} false alarms {fa:.3f}"
            f" (smallest margin to the goals {margin:+.3f})")
        if best is None or margin > best[1] + 1e-12:
            best = (t, margin)
    assert best is not None
    return {label: best[0]} if best[0] < 0.5 else {}


def _macro_f1(task: str, y: Sequence[str], probs: Sequence[dict[str, float]]) -> float:
    from middleware.detectors.metrics import figures

    figs = [f for f in figures(task, y, [_predict(task, p) for p in probs]) if f.label != "none"]
    return sum(f.f1 for f in figs) / len(figs) if figs else 0.0


def _figures(task: str, y: Sequence[str], pred: Sequence[str]) -> dict[str, Any]:
    """Figures per label on the validation split."""
    from middleware.detectors.metrics import false_alarm_rate, figures

    out: dict[str, Any] = {f.label: {"precision": round(f.precision, 3), "recall": round(f.recall, 3),
                                     "f1": round(f.f1, 3), "support": f.support} for f in figures(task, y, pred)}
    out["false_alarm_rate"] = round(false_alarm_rate(y, pred), 3)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m middleware.detectors.train", description=__doc__.split("\n")[0])
    parser.add_argument("--task", action="append", choices=sorted(TASK_LABELS), help="task(s) to train (default: "
                        "every task with a corpus file)")
    parser.add_argument("--corpus", type=Path, default=CORPUS_DIR)
    parser.add_argument("--dev", type=Path, default=DEV_DIR,
                        help="development sets (extra training rows; default: corpus/dev)")
    parser.add_argument("--out", type=Path, default=MODEL_DIR)
    args = parser.parse_args(argv)
    tasks = args.task or [t for t in TASK_LABELS if (args.corpus / f"{t}.train.jsonl").exists()]
    if not tasks:
        print(f"no training corpus in {args.corpus}", file=sys.stderr)
        return 1
    for task in tasks:
        rows = training_rows(task, args.corpus, args.dev)
        valid = validation_rows(task, args.corpus)
        print(f"{task}: {len(rows)} training rows, {len(valid)} validation rows")
        metrics = train_task(task, rows, args.out, valid=valid)
        for label, f in (metrics["validation"] or {}).items():
            if isinstance(f, dict):
                print(f"  validation {label:<16} P {f['precision']:.3f} R {f['recall']:.3f} F1 {f['f1']:.3f}"
                      f" (n={f['support']})")
        if metrics["validation"]:
            print(f"  validation false alarms on none rows: {metrics['validation']['false_alarm_rate']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
