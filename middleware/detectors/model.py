"""The model tier: one linear model per task over the shared hashed features, served with numpy.

Weights are trained offline (``python -m middleware.detectors.train``) and shipped as one ``.npz`` per
task under ``middleware/detectors/models/``. At load every task's weights go into one dense matrix
(``DIM`` rows, one column per output), so a text's features are gathered once for all tasks.

A task model is multinomial (softmax) logistic regression: one output per label, ``none`` included, so
the labels compete for one probability mass and "热得想死" can be more ``none`` than ``distress``. A label
is given when its probability reaches its threshold (the most severe label first); otherwise the most
probable label wins. (Models written by the earlier one-vs-rest trainer, one logistic output per positive
label, still load: ``kind`` ``ovr``.)
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from middleware.detectors.features import BITS, DIM, FEATURE_VERSION, buckets, compiled_logits, hashes

MODEL_DIR = Path(__file__).parent / "models"
# Context-crossed features: the last turn's features again, in a family salted by the label the
# earlier turns got, so that "那就今晚吧" can weigh differently after "药都攒够了".
CONTEXT_SALT = 0x5851F42D4C957F2D


def context_salt(level: str) -> int:
    return CONTEXT_SALT ^ int.from_bytes(level.encode()[:8].ljust(8, b"\0"), "little")


@functools.cache
def context_bias(level: str) -> int:
    """The bucket of the one feature standing for "the earlier turns were <level>" (a prior the model learns)."""
    return int(buckets(np.array([0], dtype=np.uint64), context_salt(level) ^ 0x1)[0])


@dataclass(frozen=True, slots=True)
class TaskModel:
    task: str
    labels: tuple[str, ...]          # output columns: the task's positive labels
    first: int                       # first column in the bank's matrix
    bias: npt.NDArray[np.float32]
    thresholds: dict[str, float]     # positive label -> probability needed
    context_levels: tuple[str, ...]  # earlier-turn labels that have crossed features
    metrics: dict[str, object] = field(default_factory=dict)
    kind: str = "softmax"            # "softmax": one output per label incl. none; "ovr": per positive label
    _bias: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_bias", tuple(float(b) for b in self.bias))

    @property
    def columns(self) -> slice:
        return slice(self.first, self.first + len(self.labels))

    def probabilities(self, logits: npt.NDArray[np.float32]) -> dict[str, float]:
        """Probability of each label: a softmax over every label (``none`` included), or, for a one-vs-rest
        model, each positive label's own logistic output."""
        return self.probabilities_of(logits.tolist())   # a handful of values: plain floats beat numpy's per-call cost

    def probabilities_of(self, logits: Sequence[float]) -> dict[str, float]:
        """``probabilities`` of the task's logits as plain floats (its columns of ``ModelBank.logits``)."""
        z = [v + b for v, b in zip(logits, self._bias, strict=True)]
        if self.kind == "ovr":
            return {label: 1.0 / (1.0 + math.exp(-v)) for label, v in zip(self.labels, z, strict=True)}
        if len(z) == 2:   # a binary task: the softmax of two is the logistic of their difference
            d = z[1] - z[0]
            e = math.exp(-abs(d))
            p = 1.0 / (1.0 + e) if d >= 0 else e / (1.0 + e)
            return {self.labels[0]: 1.0 - p, self.labels[1]: p}
        top = max(z)
        ez = [math.exp(v - top) for v in z]
        total = sum(ez)
        return {label: v / total for label, v in zip(self.labels, ez, strict=True)}


class ModelBank:
    """Every task model in one matrix: ``logits(buckets)`` answers all tasks with one gather."""

    def __init__(self, models: dict[str, TaskModel], weights: npt.NDArray[np.float32]) -> None:
        self.models = models
        self.weights = np.ascontiguousarray(weights)   # C order: what the compiled featuriser reads

    def text_logits(self, text: str, salt: int = 0) -> tuple[list[float], int]:
        """``logits(buckets(hashes(text), salt))`` as plain floats, and the text's number of features: in one call of
        the compiled featuriser where it serves (``features.compiled_logits``), else with numpy."""
        found = compiled_logits(text, self.weights, salt)
        if found is not None:
            return found
        raw = buckets(hashes(text), salt)
        return self.logits(raw).tolist(), len(raw)

    def __contains__(self, task: object) -> bool:
        return task in self.models

    def logits(self, buckets: npt.NDArray[np.intp]) -> npt.NDArray[np.float32]:
        """Sum of each output's weights over the features, scaled by 1/sqrt(number of features)."""
        if len(buckets) == 0:
            return np.zeros(self.weights.shape[1], dtype=np.float32)
        rows = np.take(self.weights, buckets, axis=0)
        # a vector-matrix product (BLAS) sums the rows in a third of the time numpy's .sum(axis=0) takes on a
        # few hundred rows of a few dozen columns, and applies the scale on the way
        scale = np.full(len(buckets), 1.0 / math.sqrt(len(buckets)), dtype=np.float32)
        total: npt.NDArray[np.float32] = scale @ rows
        return total

    def crossed(self, task: str, text: str, salt: int, extra: int) -> npt.NDArray[np.float32]:
        """Logits of a task's context-crossed features: the text's features salted by ``salt``, and the one feature
        ``extra`` (the context's prior), on the scale of the text's plain features."""
        values, count = self.text_logits(text, salt)
        cols = self.models[task].columns
        total: npt.NDArray[np.float32] = (np.array(values[cols], dtype=np.float32)
                                          + self.weights[extra, cols] / np.float32(math.sqrt(max(count, 1))))
        return total

    @classmethod
    def load(cls, directory: Path = MODEL_DIR, tasks: frozenset[str] | None = None) -> ModelBank:
        """Load every ``<task>.npz`` in ``directory`` (an empty bank when there are none); ``tasks``: only
        those tasks' models."""
        files = sorted(directory.glob("*.npz")) if directory.is_dir() else []
        if tasks is not None:
            files = [f for f in files if f.stem in tasks]
        raw = [_read(f) for f in files]
        width = sum(len(r["labels"]) for r in raw)
        weights = np.zeros((DIM, width), dtype=np.float32)
        models: dict[str, TaskModel] = {}
        first = 0
        for r in raw:
            labels = tuple(str(x) for x in r["labels"])
            weights[r["rows"], first : first + len(labels)] = r["weights"].astype(np.float32)
            models[str(r["task"])] = TaskModel(
                task=str(r["task"]), labels=labels, first=first,
                bias=r["bias"].astype(np.float32),
                thresholds={str(k): float(v) for k, v in zip(r["threshold_labels"], r["thresholds"], strict=True)},
                context_levels=tuple(str(x) for x in r["context_levels"]),
                metrics=json.loads(str(r["metrics"])),
                kind=str(r["kind"]) if "kind" in r else "ovr",
            )
            first += len(labels)
        return cls(models, weights)


def _read(path: Path) -> dict[str, npt.NDArray[np.generic]]:
    with np.load(path, allow_pickle=False) as data:
        out = {k: data[k] for k in data.files}
    if int(out["feature_version"]) != FEATURE_VERSION or int(out["bits"]) != BITS:
        raise ValueError(f"{path}: built for feature version {int(out['feature_version'])}/{int(out['bits'])} bits,"
                         f" this code computes version {FEATURE_VERSION}/{BITS} bits: retrain")
    return out


def save(path: Path, *, task: str, labels: tuple[str, ...], coef: npt.NDArray[np.floating],
         bias: npt.NDArray[np.floating], thresholds: dict[str, float], context_levels: tuple[str, ...],
         metrics: dict[str, object], kind: str = "softmax") -> None:
    """Write a task model: only the rows (buckets) with a weight, as float16, compressed."""
    coef = np.asarray(coef, dtype=np.float32).T  # (DIM, outputs)
    rows = np.flatnonzero(np.abs(coef).max(axis=1) >= 1e-4).astype(np.uint32)
    np.savez_compressed(
        path, task=np.array(task), labels=np.array(labels), rows=rows,
        weights=coef[rows].astype(np.float16), bias=np.asarray(bias, dtype=np.float32),
        threshold_labels=np.array(list(thresholds)), thresholds=np.array(list(thresholds.values())),
        context_levels=np.array(context_levels, dtype=str), feature_version=np.array(FEATURE_VERSION),
        bits=np.array(BITS), metrics=np.array(json.dumps(metrics, ensure_ascii=False)), kind=np.array(kind),
    )
