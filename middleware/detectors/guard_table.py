"""The one table from guard models' categories to Candor's detection tasks and labels (contract 6.1).

Each guard format names harms its own way: the moderation API by category (``self-harm/intent``), Llama
Guard 3/4 by hazard code (``S11``), Qwen3Guard by category name (``Suicide & Self-Harm``). A category not
in this table is no Candor finding (it is still recorded in the guard's decision); a task no category of
a format maps to cannot be served by that format, and a policy asking it of that format is refused at
load. The ``judge`` format asks a chat model about Candor's tasks directly, so it covers them all.
"""

from __future__ import annotations

from middleware.detectors.judgment import TASK_LABELS

FORMATS: tuple[str, ...] = ("openai_moderation", "llama_guard", "qwen3guard", "judge")

# checks a guard may serve (contract 6.1): crisis reads the user's turn, the others the reply's sentences
GUARD_CHECKS: tuple[str, ...] = ("crisis", "prohibited_content", "minor_safety", "human_claim",
                                 "emotional_manipulation", "privacy_probing")
REQUEST_CHECKS = frozenset({"crisis"})

# format -> {category as the model writes it -> (task, label)}
GUARD_TABLE: dict[str, dict[str, tuple[str, str]]] = {
    "openai_moderation": {
        "self-harm/intent": ("crisis", "explicit_intent"),
        "self-harm/instructions": ("crisis", "explicit_intent"),
        "self-harm": ("crisis", "distress"),
        "sexual/minors": ("minor_safety", "minor_romance"),
        "sexual": ("prohibited_content", "pornography"),
        "violence": ("prohibited_content", "violence"),
        "violence/graphic": ("prohibited_content", "violence"),
        "illicit/violent": ("prohibited_content", "violence"),
        "illicit": ("prohibited_content", "fraud"),
    },
    "llama_guard": {   # MLCommons hazard taxonomy, Llama Guard 3 and 4
        "S1": ("prohibited_content", "violence"),        # violent crimes
        "S2": ("prohibited_content", "fraud"),           # non-violent crimes (fraud, scams, drugs, theft)
        "S3": ("prohibited_content", "pornography"),     # sex-related crimes
        "S4": ("minor_safety", "minor_romance"),         # child sexual exploitation
        "S7": ("privacy_probing", "probing"),            # privacy
        "S9": ("prohibited_content", "violence"),        # indiscriminate weapons
        "S11": ("crisis", "explicit_intent"),            # suicide & self-harm
        "S12": ("prohibited_content", "pornography"),    # sexual content
    },
    "qwen3guard": {    # Qwen3Guard-Gen; "Controversial" lowers a crisis to distress and is no finding elsewhere
        "Violent": ("prohibited_content", "violence"),
        "Non-violent Illegal Acts": ("prohibited_content", "fraud"),
        "Sexual Content or Sexual Acts": ("prohibited_content", "pornography"),
        "PII": ("privacy_probing", "probing"),
        "Suicide & Self-Harm": ("crisis", "explicit_intent"),
    },
    "judge": {f"{task}:{label}": (task, label) for task in GUARD_CHECKS for label in TASK_LABELS[task]
              if label != "none"},
}

# every category each format may answer, mapped or not (an answer naming anything else is garbage)
KNOWN_CATEGORIES: dict[str, frozenset[str]] = {
    "openai_moderation": frozenset({
        "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
        "self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "sexual/minors", "violence",
        "violence/graphic"}),
    "llama_guard": frozenset(f"S{i}" for i in range(1, 15)),
    "qwen3guard": frozenset({"Violent", "Non-violent Illegal Acts", "Sexual Content or Sexual Acts", "PII",
                             "Suicide & Self-Harm", "Unethical Acts", "Politically Sensitive Topics",
                             "Copyright Violation", "Jailbreak", "None"}),
}

# the label of a crisis a Qwen3Guard answer calls "Controversial"
CONTROVERSIAL_CRISIS = "distress"


def covers(fmt: str) -> frozenset[str]:
    """The tasks ``fmt`` can judge (some category maps to them)."""
    return frozenset(task for task, _ in GUARD_TABLE[fmt].values())


def mapping(fmt: str, category: str) -> tuple[str, str] | None:
    return GUARD_TABLE[fmt].get(category)
