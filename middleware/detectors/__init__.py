"""Built-in text detectors: precompiled, fast, Chinese and English.

Importing this package does not import Guardrails (about 2 s of start-up); the Guardrails
validators live in ``middleware.detectors.validators`` and are imported only where a Guard is built.

Typical use::

    from middleware.detectors import build_detectors
    d = build_detectors({"exit": {"keywords": {"zh": ["溜了"], "en": ["peace out"]}}})
    d.exit_intent.detect(user_text).matched
    d.crisis.assess(user_text).level          # "explicit_intent" | "distress" | "none"

See docs/detectors.md for what each detector catches and misses.
"""

from __future__ import annotations

from .base import Detection, Detector
from .crisis import CrisisAssessment, CrisisDetector, assess_crisis
from .elderly import ElderlyRiskDetector
from .exit_intent import ExitIntentDetector
from .factory import DetectorSet, DetectorSettings, build_detectors
from .human_claim import AskHumanDetector, HumanClaimDetector, asks_if_human
from .identity_check import IdentityCheckAbuseDetector
from .minor import MinorDetector
from .retention import AttachmentDetector, RetentionPleaDetector, attachment_signal
from .self_harm import SelfHarmEncouragementDetector
from .sentences import SentenceBuffer, by_script, rewrite_claims, sentence_spans, split_sentences
from .textnorm import Normalized, normalize

__all__ = [
    "AskHumanDetector",
    "AttachmentDetector",
    "CrisisAssessment",
    "CrisisDetector",
    "Detection",
    "Detector",
    "DetectorSet",
    "DetectorSettings",
    "ElderlyRiskDetector",
    "ExitIntentDetector",
    "HumanClaimDetector",
    "IdentityCheckAbuseDetector",
    "MinorDetector",
    "Normalized",
    "RetentionPleaDetector",
    "SelfHarmEncouragementDetector",
    "SentenceBuffer",
    "asks_if_human",
    "assess_crisis",
    "attachment_signal",
    "build_detectors",
    "by_script",
    "normalize",
    "rewrite_claims",
    "sentence_spans",
    "split_sentences",
]
