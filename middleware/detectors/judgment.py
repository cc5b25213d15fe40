"""What the detection layer answers: one ``Judgment`` per (task, text).

A task is a question a rule asks about a text ("is this user in crisis?", "does this reply claim to be
human?"). Every task has a fixed set of labels, ``"none"`` among them; the layer answers with one label,
a score in [0, 1], the tier that decided and a short explanation for the audit record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Tier = Literal["pattern", "model", "guard"]
Task = Literal[
    "crisis",
    "human_claim",
    "exit",
    "retention_plea",
    "emotional_manipulation",
    "privacy_probing",
    "minor_safety",
    "prohibited_content",
]

# Labels per task, most severe first ("none" last): when tiers disagree the more severe label wins.
TASK_LABELS: dict[str, tuple[str, ...]] = {
    "crisis": ("explicit_intent", "property_loss", "distress", "third_party", "none"),
    "human_claim": ("claim", "none"),
    "exit": ("exit", "none"),
    "retention_plea": ("plea", "none"),
    "emotional_manipulation": ("manipulation", "none"),
    "privacy_probing": ("probing", "none"),
    "minor_safety": ("minor_romance", "none"),
    "prohibited_content": ("violence", "drugs", "pornography", "gambling", "fraud", "none"),
}
TASKS: tuple[str, ...] = tuple(TASK_LABELS)
# Tasks read on the user's side, where earlier turns of the conversation are context.
CONTEXT_TASKS = frozenset({"crisis", "exit"})

# compliance.crisis.category (contract 6.1) for each crisis label.
CRISIS_CATEGORY: dict[str, str] = {
    "explicit_intent": "self_harm",
    "property_loss": "property_loss",
    "distress": "emotional",
    "third_party": "third_party",
}


@dataclass(frozen=True, slots=True)
class Judgment:
    """The layer's answer for one task on one text.

    ``label`` is one of ``TASK_LABELS[task]``; ``score`` the confidence of that label (a pattern hit is
    1.0, a model gives its calibrated probability, and for ``none`` it is 1 - the best positive score);
    ``tier`` the tier whose finding decided; ``detail`` names the pattern rule or the model figure;
    ``spans`` are ``(start, end)`` offsets into the text the caller passed (pattern hits only: a model
    judges the whole text and gives no span).
    """

    task: str
    label: str
    score: float
    tier: Tier
    detail: str
    spans: tuple[tuple[int, int], ...] = ()

    @property
    def matched(self) -> bool:
        return self.label != "none"

    @property
    def category(self) -> str | None:
        """``compliance.crisis.category`` for a crisis judgment, else None."""
        return CRISIS_CATEGORY.get(self.label) if self.task == "crisis" else None


def severity(task: str, label: str) -> int:
    """Lower is more severe; "none" is the largest."""
    return TASK_LABELS[task].index(label)
