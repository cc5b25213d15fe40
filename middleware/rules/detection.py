"""The rules' one question to the detection layer: "what is this text?", asked per task.

Every rule that reads text (crisis, exit, the output validators) goes through ``judge`` and gets a
``Reading``: a label, a score and the tier that decided (``pattern`` | ``model`` | ``guard``). The
audit decisions name that tier and score. ``TASKS`` is what the layer can judge in this build: a policy
naming a check whose task is missing is refused at load (``policy/model.py``), never silently skipped.

The layer itself lives in ``middleware/detectors`` (its default layer: built-in patterns and shipped
models); this module only adapts its answer to what the rules need, so the rules do not depend on how a
detector is built. A policy's own exit keywords are matched by the exit gate itself, before the layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from middleware.detectors.judgment import TASK_LABELS
from middleware.detectors.layer import default_layer
from middleware.detectors.textnorm import Normalized

NEGATIVE = frozenset({"none", ""})


@dataclass(frozen=True, slots=True)
class Reading:
    task: str
    label: str
    score: float
    tier: str
    detail: str = ""
    spans: Sequence[tuple[int, int]] = ()

    @property
    def hit(self) -> bool:
        return self.label not in NEGATIVE

    def evidence(self) -> dict[str, Any]:
        """What an audit decision records of this reading: never the text, only what decided."""
        out: dict[str, Any] = {"label": self.label, "tier": self.tier, "score": round(float(self.score), 3)}
        if self.detail:
            out["detail"] = self.detail
        return out


# crisis label -> (compliance.crisis level, category): property loss is handled like intent (ANTH-CRISIS-2
# names both); someone else at risk gets the help resources, not the user's crisis protocol
CRISIS_LEVELS: dict[str, tuple[str, str]] = {
    "explicit_intent": ("explicit_intent", "self_harm"),
    "property_loss": ("explicit_intent", "property_loss"),
    "distress": ("distress", "emotional"),
    "third_party": ("distress", "third_party"),
}


TASKS: frozenset[str] = frozenset(TASK_LABELS)   # what the layer of this build judges


def tiers(task: str) -> tuple[str, ...]:
    """The tiers that judge ``task`` in this build (empty: the task cannot run)."""
    if task not in TASKS:
        return ()
    return tuple(default_layer().tiers(task))


def normalized(text: str) -> Normalized:
    """The layer's normalisation of ``text``: one per text, shared with every task and pattern check that reads
    it (the layer keeps the readings of recent texts), so checks sharing a detector find its hits kept for them
    (``Detector.hits_of`` keeps them by identity of the normalised text)."""
    return default_layer().read(text).norm


def quiet_tasks() -> frozenset[str]:
    """The tasks for which ``quiet`` can say "nothing here" without a judgment."""
    return default_layer().quiet_tasks


def quiet(task: str, text: str) -> bool:
    """True where ``judge(task, text)`` finds nothing by the model's margin alone (its reading is not built): for a
    check that acts only on a finding and records nothing else. False: ask ``judge``."""
    return default_layer().quiet(task, text)


def quiet_set(text: str) -> frozenset[str]:
    """Every task ``quiet`` is True for on ``text``, in one call (for a check that asks of several models)."""
    return default_layer().quiet_set(text)


def judge(task: str, text: str, context: Sequence[str] = (), asked: str = "") -> Reading:
    j = default_layer().judge(task, text, context, asked)
    return Reading(j.task, j.label, float(j.score), j.tier, j.detail, j.spans)
