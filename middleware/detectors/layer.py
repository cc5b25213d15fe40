"""One detection layer: every rule asks ``judge(task, text, context)`` and gets one ``Judgment``.

Tiers, cheapest first: normalisation (once per text, shared by every task), patterns (the explainable
precision floor), the trained model of the task (numpy, shipped weights). The more severe finding wins
and names the tier that decided; when both find nothing the model (if the task has one) decided.

Per-text work is cached in a ``Reading`` (normalised text, slang view, features, every model's logits),
and the layer keeps the readings of recent texts, so the earlier turns of a conversation (``context``)
are usually read already when the next request arrives.

Context (request-side tasks: crisis, exit): the earlier user turns, oldest first. The most severe label
the earlier turns get decides how the last turn is read: the model adds the task's context-crossed
features ("那就今晚吧" weighs as a plan after "药都攒够了"), and the crisis patterns treat a last turn
that carries out an announced intent ("tonight", "准备好了") as explicit intent. A figurative or benign
context changes nothing.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from middleware.detectors.asked import RULE as ASKED_RULE
from middleware.detectors.asked import affirmed_risk_question
from middleware.detectors.exit_intent import DEFAULT_EXIT, ExitIntentDetector
from middleware.detectors.judgment import CONTEXT_TASKS, TASK_LABELS, Judgment, Tier, severity
from middleware.detectors.model import ModelBank, TaskModel, context_bias, context_salt
from middleware.detectors.pattern_tier import (
    CONTINUATION,
    MODEL_VETOES,
    RESOLVE,
    PatternFinding,
    binary_finders,
    crisis_finding,
)
from middleware.detectors.slang import slang_view
from middleware.detectors.textnorm import Normalized, normalize

_CACHE_SIZE = 512


class Reading:
    """What the layer knows about one text; computed lazily, shared by every task."""

    __slots__ = ("_logit_values", "_slang", "findings", "judgments", "norm", "quiet")

    def __init__(self, text: str) -> None:
        self.norm: Normalized = normalize(text)
        self._slang: Normalized | bool | None = False
        self._logit_values: list[float] | None = None
        self.quiet: frozenset[str] | None = None   # ``DetectionLayer.quiet_set``, once asked
        self.findings: dict[str, PatternFinding] = {}
        self.judgments: dict[str, Judgment] = {}

    @property
    def slang(self) -> Normalized | None:
        if self._slang is False:
            self._slang = slang_view(self.norm)
        return self._slang if isinstance(self._slang, Normalized) else None

    def logit_values(self, bank: ModelBank) -> list[float]:
        """Every task's logits as plain floats, computed once per text (``ModelBank.text_logits``): each task then
        reads its columns without a numpy call (the output side asks four models of every sentence)."""
        if self._logit_values is None:
            self._logit_values = bank.text_logits(self.norm.text)[0]
        return self._logit_values


class DetectionLayer:
    """The tiers of every task, built once per policy load; thread-safe."""

    def __init__(self, *, exit_detector: ExitIntentDetector = DEFAULT_EXIT, models: ModelBank | None = None,
                 use_models: bool = True, every_pattern: bool = False) -> None:
        """``every_pattern``: read a task's patterns even where no hit of theirs could stand (the answers are
        the same; tests compare the two)."""
        self.models = (models if models is not None else default_models()) if use_models else ModelBank({}, _EMPTY)
        self._finders: dict[str, Callable[[Normalized], PatternFinding]] = binary_finders(exit_detector)
        self._cache: OrderedDict[str, Reading] = OrderedDict()
        self._lock = threading.Lock()
        # the tasks whose patterns are skipped where no hit of theirs could stand: every task with a model, but not
        # one whose patterns may hold the operator's own rules (they stand whatever the model says)
        operator_tasks = frozenset({"exit"}) if exit_detector.operator_rules else frozenset()
        self._may_skip = frozenset() if every_pattern else frozenset(self.models.models) - operator_tasks
        self._last: tuple[str | None, Reading] = (None, _NO_READING)
        # binary model tasks whose answer a quiet model decides alone (see ``_quiet``): task -> its model
        self._quiet_models: dict[str, tuple[TaskModel, int, float]] = {
            t: (m, *q) for t, m in self.models.models.items()
            if t in self._may_skip and (q := _quiet_margin(m)) is not None}
        # (task, column of its positive label, column of "none", margin) of each: what ``quiet_set`` reads
        self._quiet_columns = tuple((t, m.first + positive, m.first + 1 - positive, margin)
                                    for t, (m, positive, margin) in self._quiet_models.items())

    # --- public ----------------------------------------------------------------------------

    def tiers(self, task: str) -> tuple[Tier, ...]:
        """The tiers that run for ``task`` (for ``policy explain`` and the audit record)."""
        _check(task)
        return ("pattern", "model") if task in self.models else ("pattern",)

    def judge(self, task: str, text: str, context: Sequence[str] = (), asked: str = "") -> Judgment:
        """Label ``text`` for ``task``; ``context`` are the earlier user turns (read for crisis and exit); ``asked``
        the assistant turn right before ``text`` (crisis: a yes to its question about suicide or self-harm,
        ``asked.py``)."""
        _check(task)
        reading = self.read(text)
        ctx = self._context_level(task, context) if context and task in CONTEXT_TASKS else "none"
        if ctx != "none":
            result = self._decide(task, reading, ctx)
        else:
            cached = reading.judgments.get(task)
            result = cached if cached is not None else self._quiet(task, reading) or self._decide(task, reading, ctx)
            reading.judgments[task] = result
        if asked and task == "crisis" and result.label != "explicit_intent":
            return self._answered(reading, asked) or result
        return result

    @property
    def quiet_tasks(self) -> frozenset[str]:
        """The tasks ``quiet`` can answer for (binary models whose "none" may skip the patterns)."""
        return frozenset(self._quiet_models)

    def quiet(self, task: str, text: str) -> bool:
        """True where ``judge(task, text)`` (no context) is "none" by the model's margin alone: one subtraction
        on the text's logits, no judgment built. For a caller that acts only on a finding (the output side's
        checks, four models on every sentence of every reply); False says nothing (ask ``judge``)."""
        return task in self.quiet_set(text)

    def quiet_set(self, text: str) -> frozenset[str]:
        """Every task ``quiet`` is True for on ``text``, found once per text (a subtraction per binary model) and kept
        with its reading: the output side's checks of a sentence ask for it once instead of once per model."""
        return self._quiet_set(self.read(text))

    def judge_all(self, tasks: Sequence[str], text: str, context: Sequence[str] = ()) -> dict[str, Judgment]:
        return {task: self.judge(task, text, context) for task in tasks}

    def read(self, text: str) -> Reading:
        last = self._last   # the checks of a sentence ask one after the other: one tuple read, no lock
        if last[0] is text:
            return last[1]
        with self._lock:
            reading = self._cache.get(text)
            if reading is not None:
                self._cache.move_to_end(text)
                self._last = (text, reading)
                return reading
        reading = Reading(text)
        self._last = (text, reading)
        with self._lock:
            self._cache[text] = reading
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return reading

    # --- tiers -----------------------------------------------------------------------------

    def _context_level(self, task: str, context: Sequence[str]) -> str:
        """The most severe label the earlier turns get on their own."""
        best = "none"
        for turn in context:
            if turn:
                label = self.judge(task, turn).label
                if severity(task, label) < severity(task, best):
                    best = label
        return best

    def pattern(self, task: str, reading: Reading, ctx: str = "none") -> PatternFinding:
        finding = reading.findings.get(task)
        if finding is None:
            if task == "crisis":
                views = [reading.norm] if reading.slang is None else [reading.norm, reading.slang]
                finding = crisis_finding(views)
            else:
                finding = self._finders[task](reading.norm)
            reading.findings[task] = finding
        if task == "crisis" and ctx in ("explicit_intent", "distress") and severity("crisis", finding.label) > 0:
            m = (CONTINUATION if ctx == "explicit_intent" else RESOLVE).search(reading.norm.text)
            if m is not None:
                span = reading.norm.to_original(m.start(), m.end())
                return PatternFinding("explicit_intent", "context_continuation", (span,))
        return finding

    def model(self, task: str, reading: Reading, ctx: str = "none") -> tuple[str, float, dict[str, float]] | None:
        """(label, score, probabilities) from the task's model, or None when the task has none."""
        tm = self.models.models.get(task)
        if tm is None:
            return None
        if ctx != "none" and ctx in tm.context_levels:
            logits = np.array(reading.logit_values(self.models)[tm.columns], dtype=np.float32) + self.models.crossed(
                task, reading.norm.text, context_salt(ctx), context_bias(ctx))
            probs = tm.probabilities(logits)
        else:
            probs = tm.probabilities_of(reading.logit_values(self.models)[tm.columns])
        return (*decide(tm, probs), probs)

    def _answered(self, reading: Reading, asked: str) -> Judgment | None:
        """Explicit intent when the text says yes to the assistant's question about suicide or self-harm: a pattern
        finding that stands whatever the model says (the model never reads assistant turns)."""
        found = affirmed_risk_question(asked, reading.norm)
        if found is None:
            return None
        span = reading.norm.to_original(*found)
        return Judgment("crisis", "explicit_intent", 1.0, "pattern", ASKED_RULE, (span,))

    def _quiet(self, task: str, reading: Reading) -> Judgment | None:
        """The answer of ``_decide`` (without context) where a binary task's model gives its label less than
        ``PATTERN_FLOOR`` and its threshold: "none", decided by the model, no pattern read. One subtraction
        against the model's precomputed margin instead of the probabilities of every label; most sentences of
        most replies take this way, for each of the output side's four models. None: ask ``_decide``. A task without
        such a model is not asked of the reading's quiet set, which would compute every model's logits of the text
        (a burst screened whole by the pattern-only checks is read by no model)."""
        if task not in self._quiet_models or task not in self._quiet_set(reading):
            return None
        tm = self._quiet_models[task][0]
        values = reading.logit_values(self.models)
        probs = tm.probabilities_of((values[tm.first], values[tm.first + 1]))
        return Judgment(task, "none", probs["none"], "model", _model_detail(probs, "none"))

    def _quiet_set(self, reading: Reading) -> frozenset[str]:
        """The binary tasks whose model is below its quiet margin (``_quiet_margin``) on the text: one subtraction
        per model on the text's logits, in one pass, kept with the reading (no logits are asked of a layer without
        models)."""
        found = reading.quiet
        if found is None:
            v = reading.logit_values(self.models) if self._quiet_columns else []
            found = reading.quiet = frozenset(
                task for task, pos, neg, margin in self._quiet_columns if v[pos] - v[neg] < margin)
        return found

    def _decide(self, task: str, reading: Reading, ctx: str) -> Judgment:
        modelled = self.model(task, reading, ctx)
        if modelled is not None and task in self._may_skip:
            label, score, probs = modelled
            if label == "none" and all(p < PATTERN_FLOOR for k, p in probs.items() if k != "none"):
                # No pattern hit could stand (each needs its label at PATTERN_FLOOR, and this task's patterns
                # hold no operator rule): the patterns are not run. Most text takes this way; the answer is the
                # one below.
                return Judgment(task, "none", score, "model", _model_detail(probs, ctx))
        found = self.pattern(task, reading, ctx)
        if modelled is None:
            if found.label != "none":
                return Judgment(task, found.label, 1.0, "pattern", found.rule, found.spans)
            return Judgment(task, "none", 1.0, "pattern", "no pattern matched")
        label, score, probs = modelled
        if found.label != "none" and severity(task, found.label) <= severity(task, label) and (
                found.rule.startswith(OPERATOR_RULE) or probs.get(found.label, 0.0) >= PATTERN_FLOOR):
            return Judgment(task, found.label, 1.0, "pattern", found.rule, found.spans)
        if label != "none":
            veto = MODEL_VETOES.get(task)
            if veto is not None and (ruled_out := veto[1](reading.norm)) is not None:
                # the patterns read what rules the model's label out (human claim: the speaker says it is an AI)
                return Judgment(task, "none", 1.0, "pattern", veto[0], (reading.norm.to_original(*ruled_out),))
            return Judgment(task, label, score, "model", _model_detail(probs, ctx), found.spans)
        return Judgment(task, "none", score, "model", _model_detail(probs, ctx))


# Where a task has a model, a pattern hit stands only when the model gives its label at least this
# probability: the patterns explain and add what the model half-sees, the model vetoes a hit it finds
# implausible ("热得想死" matched by a crisis rule). Why: on the validation split, letting every more severe
# pattern hit stand raised the crisis false alarms from 7 % to 10 % and cut explicit-intent precision from
# 0.90 to 0.84 for one point of recall (docs/detectors.md); 0.1 keeps the hits the model half-sees.
PATTERN_FLOOR = 0.1
# Pattern rules the operator wrote (the policy's exit keywords, rules ``policy_keyword_zh|en``) always stand.
OPERATOR_RULE = "policy_keyword"


def decide(tm: TaskModel, probs: dict[str, float]) -> tuple[str, float]:
    """The most severe label whose probability reaches its threshold; else the most probable label, leaving out
    those with a threshold above 0.5 (a softmax model: ``none`` has none), or ("none", 1 - best) (a one-vs-rest
    model)."""
    labels = [x for x in TASK_LABELS[tm.task] if x != "none" and x in probs]
    if tm.kind == "ovr":
        for label in labels:
            if probs[label] >= tm.thresholds.get(label, 0.5):
                return label, probs[label]
        return "none", 1.0 - max((probs[x] for x in labels), default=0.0)
    for label in labels:
        if label in tm.thresholds and probs[label] >= tm.thresholds[label]:
            return label, probs[label]
    if not tm.thresholds:
        top = max(probs, key=probs.__getitem__)
        return top, probs[top]
    # a threshold above 0.5 must be reached (an output-side label: never given below it); one below 0.5 gives its
    # label in addition to the most probable one (the crisis model's explicit intent)
    top = max((k for k in probs if tm.thresholds.get(k, 0.0) <= 0.5), key=probs.__getitem__)
    return top, probs[top]


def _quiet_margin(tm: TaskModel) -> tuple[int, float] | None:
    """(column of the positive label, margin) of a binary softmax model: where the positive label's logit
    exceeds ``none``'s by less than the margin, its probability is below both ``PATTERN_FLOOR`` and the
    label's threshold (0.5 without one), so ``decide`` gives "none" and no pattern hit could stand. The
    margin (on the logits before the bias) is kept a little inside the bound so that rounding never decides a
    borderline text."""
    if tm.kind != "softmax" or len(tm.labels) != 2 or "none" not in tm.labels:
        return None
    positive = 1 - tm.labels.index("none")
    q = min(PATTERN_FLOOR, tm.thresholds.get(tm.labels[positive], 0.5))
    bias = [float(b) for b in tm.bias]
    # on the logits before the bias: p < q  <=>  (l_pos + b_pos) - (l_none + b_none) < log(q / (1 - q))
    return positive, math.log(q / (1.0 - q)) - (bias[positive] - bias[1 - positive]) - 1e-6


def _model_detail(probs: dict[str, float], ctx: str) -> str:
    if len(probs) == 2 and ctx == "none":   # a binary task (the output side's four): no sort
        (a, pa), (b, pb) = probs.items()
        return f"model p({a}={pa:.2f}, {b}={pb:.2f})" if pa >= pb else f"model p({b}={pb:.2f}, {a}={pa:.2f})"
    shown = ", ".join(f"{k}={v:.2f}" for k, v in sorted(probs.items(), key=lambda kv: -kv[1])[:3])
    return f"model p({shown})" + (f" context={ctx}" if ctx != "none" else "")


def _check(task: str) -> None:
    if task not in TASK_LABELS:
        raise ValueError(f"unknown detection task {task!r}; known: {', '.join(TASK_LABELS)}")


_EMPTY = np.zeros((1, 0), dtype=np.float32)
_NO_READING = Reading("")
_default_models: list[ModelBank] = []
_default_lock = threading.Lock()


# The trained models that serve by default: every task's that has one (crisis and exit on the request side;
# human_claim, retention_plea, emotional_manipulation and privacy_probing on the output side). Each keeps quiet
# on text written apart from every corpus: everyday messages and replies (``corpus/everyday.check.jsonl``) and,
# for the output side, ordinary companion replies (``corpus/replies.check.jsonl``: memories, advice, cooking,
# encouragement, plans, warm goodbyes), at most 2 % false alarms per task, and the benchmark replies of
# ``bench/texts.py`` pass the output side unflagged (tests/test_detectors_everyday.py). Three output-side models
# waited until training negatives of such replies and a validation-chosen threshold (a flag there rewrites or
# drops a sentence, ``train.THRESHOLD_TASKS``) stopped them misreading "I remember you mentioned your trip." or
# cooking advice; their figures on the held-back test split are in docs/detectors.md.
SERVED_MODELS: frozenset[str] = frozenset({"crisis", "exit", "human_claim", "retention_plea", "emotional_manipulation",
                                           "privacy_probing"})


def default_models() -> ModelBank:
    """The served models (``SERVED_MODELS``), loaded once per process."""
    with _default_lock:
        if not _default_models:
            _default_models.append(ModelBank.load(tasks=SERVED_MODELS))
        return _default_models[0]


_default_layer: list[DetectionLayer] = []


def default_layer() -> DetectionLayer:
    """The layer of a policy with no phrases of its own: built-in patterns and the shipped models."""
    if not _default_layer:
        layer = DetectionLayer()  # outside the lock: it loads the models, which takes the lock
        with _default_lock:
            if not _default_layer:
                _default_layer.append(layer)
    return _default_layer[0]


def build_layer(policy: Any = None) -> DetectionLayer:
    """A layer for a policy: its own exit keywords (``exit.keywords``) join the exit patterns."""
    from middleware.detectors.factory import DetectorSettings

    if policy is None:
        return default_layer()
    settings = policy if isinstance(policy, DetectorSettings) else DetectorSettings.from_policy(policy)
    if not settings.exit_keywords:
        return default_layer()
    return DetectionLayer(exit_detector=ExitIntentDetector(settings.exit_keywords))


def judge(task: str, text: str, context: Sequence[str] = ()) -> Judgment:
    """``judge`` on the default layer (built-in patterns and shipped models)."""
    return default_layer().judge(task, text, context)


__all__ = ["DetectionLayer", "Judgment", "Reading", "build_layer", "decide", "default_layer", "judge"]
