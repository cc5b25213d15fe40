"""The pattern tier: each task's pattern detector, answering in the layer's terms.

Patterns are the explainable precision floor: when one fires, the rule name says why. They run on the
shared normalised text; the crisis task also reads the slang view (homophones such as 紫砂 -> 自杀).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from middleware.detectors.base import Detection, Detector
from middleware.detectors.crisis import DEFAULT_CRISIS, CrisisAssessment
from middleware.detectors.exit_intent import ExitIntentDetector
from middleware.detectors.human_claim import AI_ADMISSION_RULE, DEFAULT_HUMAN_CLAIM, ai_admission
from middleware.detectors.manipulation import DEFAULT_MANIPULATION
from middleware.detectors.minor_safety import DEFAULT_MINOR_SAFETY
from middleware.detectors.presence import RULE as PRESENCE_RULE
from middleware.detectors.presence import bare_presence, presence_promise
from middleware.detectors.privacy import DEFAULT_PRIVACY_PROBING
from middleware.detectors.prohibited import DEFAULT_PROHIBITED
from middleware.detectors.retention import DEFAULT_RETENTION_PLEA
from middleware.detectors.textnorm import Normalized


@dataclass(frozen=True, slots=True)
class PatternFinding:
    label: str
    rule: str
    spans: tuple[tuple[int, int], ...]


NO_FINDING = PatternFinding("none", "", ())


def crisis_label(a: CrisisAssessment) -> str:
    if a.level == "none":
        return "none"
    if a.category == "property_loss":
        return "property_loss"
    if a.category == "third_party":
        return "third_party"
    return "explicit_intent" if a.level == "explicit_intent" else "distress"


def crisis_finding(views: Sequence[Normalized]) -> PatternFinding:
    """The most severe crisis reading over the views of one text (normalised, slang-mapped)."""
    from middleware.detectors.judgment import severity

    best = NO_FINDING
    for norm in views:
        a = DEFAULT_CRISIS.assess_normalized(norm)
        label = crisis_label(a)
        if label != "none" and severity("crisis", label) < severity("crisis", best.label):
            best = PatternFinding(label, a.rule, tuple(a.spans))
    return best


def _from_detection(d: Detection) -> PatternFinding:
    return PatternFinding(d.label, d.rule, tuple(d.spans)) if d.matched else NO_FINDING


def detector_finding(detector: Detector) -> Callable[[Normalized], PatternFinding]:
    return lambda norm: _from_detection(detector.detect_normalized(norm))


def binary_finders(exit_detector: ExitIntentDetector) -> dict[str, Callable[[Normalized], PatternFinding]]:
    """Pattern finders of every task but crisis (which reads several views and its context)."""
    return {
        "human_claim": detector_finding(DEFAULT_HUMAN_CLAIM),
        "exit": detector_finding(exit_detector),
        "retention_plea": detector_finding(DEFAULT_RETENTION_PLEA),
        "emotional_manipulation": detector_finding(DEFAULT_MANIPULATION),
        "privacy_probing": detector_finding(DEFAULT_PRIVACY_PROBING),
        "minor_safety": detector_finding(DEFAULT_MINOR_SAFETY),
        "prohibited_content": detector_finding(DEFAULT_PROHIBITED),
    }


# Pattern rules that overrule a model's positive label, read only where the model alone gives one: task -> (rule, the
# span, in the normalised text, of what rules the label out). Human claim: the speaker says it is an AI. Retention
# plea: a promise of presence ("我会一直陪着你") that nothing in the text turns into a plea; emotional manipulation: a
# promise of presence that is the whole text (``presence.py``).
MODEL_VETOES: dict[str, tuple[str, Callable[[Normalized], tuple[int, int] | None]]] = {
    "human_claim": (AI_ADMISSION_RULE, ai_admission),
    "retention_plea": (PRESENCE_RULE, presence_promise),
    "emotional_manipulation": (PRESENCE_RULE, bare_presence),
}


# A last turn that only makes sense as carrying out what the earlier turns announced: a time ("那就今晚吧",
# "tonight"), readiness ("准备好了", "I'm ready"), resolve ("决定了", "I'll do it"), a farewell with finality.
CONTINUATION = re.compile(
    r"今晚|今天晚上|明天|就今天|就现在|现在就|马上|就这样吧|决定了|想好了|准备好了|都准备好了|不等了|动手|去做|就这么办"
    r"|永别|再见了|别了|谢谢你陪我|最后一次|对不起大家|替我|照顾好"
    r"|(?<![a-z])(?:tonight|tomorrow|right now|i'm ready|im ready|i am ready|decided|do it|doing it|it's time"
    r"|its time|goodbye|farewell|last time|take care of|thank you for everything|sorry for everything"
    r"|no more waiting|this is it)(?![a-z])"
)
# After passive ideation or distress only a resolve counts, not any time word ("明天再聊" is not a plan).
RESOLVE = re.compile(
    r"今晚|今天晚上|就今天|就现在|现在就|就这样吧|决定了|想好了|准备好了|都准备好了|不等了|动手|永别|最后一次|对不起大家|替我"
    r"|(?<![a-z])(?:tonight|right now|i'm ready|im ready|i am ready|i've decided|do it|doing it|it's time|its time"
    r"|goodbye forever|farewell|last time|sorry for everything|this is it)(?![a-z])"
)
