"""The rules' one question to the detection layer: "what is this text?", asked per task.

Every rule that reads text (crisis, exit, the output validators) goes through ``judge`` and gets a
``Reading``: a label, a score and the tier that decided (``pattern`` | ``model`` | ``guard``). The
audit decisions name that tier and score. ``TASKS`` is what the layer can judge in this build: a policy
naming a check whose task is missing is refused at load (``policy/model.py``), never silently skipped.

The layer itself lives in ``middleware/detectors``; this module only adapts its answer to what the
rules need, so the rules do not depend on how a detector is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..detectors.crisis import DEFAULT_CRISIS
from ..detectors.human_claim import DEFAULT_HUMAN_CLAIM
from ..detectors.retention import DEFAULT_RETENTION_PLEA

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
_CATEGORY_LABEL = {"self_harm": "explicit_intent", "property_loss": "property_loss", "emotional": "distress",
                   "third_party": "third_party"}


def _pattern_judge(task: str, text: str, context: Sequence[str] = ()) -> Reading:
    """Today's pattern tables, for the tasks they cover (used until the detection layer is built in)."""
    if task == "crisis":
        found = DEFAULT_CRISIS.assess(text)
        if found.level == "none":
            return Reading(task, "none", 0.0, "pattern")
        label = _CATEGORY_LABEL.get(found.category or "", found.level)
        return Reading(task, label, 1.0, "pattern", found.rule, tuple(found.spans))
    detector = {"human_claim": DEFAULT_HUMAN_CLAIM, "retention_plea": DEFAULT_RETENTION_PLEA}.get(task)
    if detector is None:
        raise KeyError(f"no detector for task {task!r}")
    d = detector.detect(text)
    return Reading(task, d.label if d.matched else "none", 1.0 if d.matched else 0.0, "pattern", d.rule,
                   tuple(d.spans))


def _layer() -> tuple[Any, frozenset[str], dict[str, tuple[str, ...]]]:
    try:
        from ..detectors import judge as engine_judge  # type: ignore[attr-defined]
        from ..detectors import tasks as engine_tasks  # type: ignore[attr-defined]
    except ImportError:
        return None, frozenset({"crisis", "human_claim", "retention_plea"}), {}
    tiers = {t: tuple(engine_tasks()[t]) for t in engine_tasks()}
    return engine_judge, frozenset(tiers), tiers


_ENGINE, TASKS, _TIERS = _layer()


def tiers(task: str) -> tuple[str, ...]:
    """The tiers that judge ``task`` in this build (empty: the task cannot run)."""
    if task not in TASKS:
        return ()
    return _TIERS.get(task, ("pattern",))


def judge(task: str, text: str, context: Sequence[str] = ()) -> Reading:
    if _ENGINE is None:
        return _pattern_judge(task, text, context)
    j = _ENGINE(task, text, context)
    return Reading(j.task, j.label, float(j.score), j.tier, str(j.detail or ""), tuple(j.spans or ()))
