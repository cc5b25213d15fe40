"""Built-in text detectors: precompiled, fast, Chinese and English.

Importing this package does not import Guardrails (about 2 s of start-up); the Guardrails
validators live in ``middleware.detectors.validators`` and are imported only where a Guard is built.

Typical use (one layer, every task, the tier that decided)::

    from middleware.detectors import build_layer
    layer = build_layer(policy_dict)                       # once per policy load
    j = layer.judge("crisis", user_text, context=earlier_user_turns, asked=assistant_turn_before_it)
    j.label, j.score, j.tier, j.category                   # "explicit_intent", 0.97, "model", "self_harm"

The pattern detectors underneath are also usable alone::

    from middleware.detectors import build_detectors
    d = build_detectors({"exit": {"keywords": {"zh": ["溜了"], "en": ["peace out"]}}})
    d.exit_intent.detect(user_text).matched
    d.crisis.assess(user_text).level          # "explicit_intent" | "distress" | "none"

See docs/detectors.md for what each detector catches and misses.
"""

from __future__ import annotations

from middleware.detectors.base import Detection, Detector
from middleware.detectors.crisis import CrisisAssessment, CrisisDetector, assess_crisis
from middleware.detectors.elderly import ElderlyRiskDetector
from middleware.detectors.exit_intent import ExitIntentDetector
from middleware.detectors.factory import DetectorSet, DetectorSettings, build_detectors
from middleware.detectors.human_claim import AskHumanDetector, HumanClaimDetector, asks_if_human
from middleware.detectors.identity_check import IdentityCheckAbuseDetector
from middleware.detectors.judgment import CONTEXT_TASKS, CRISIS_CATEGORY, TASK_LABELS, TASKS, Judgment
from middleware.detectors.layer import DetectionLayer, build_layer, default_layer, judge
from middleware.detectors.minor import MinorDetector
from middleware.detectors.retention import AttachmentDetector, RetentionPleaDetector, attachment_signal
from middleware.detectors.self_harm import SelfHarmEncouragementDetector
from middleware.detectors.sentences import SentenceBuffer, by_script, rewrite_claims, sentence_spans, split_sentences
from middleware.detectors.textnorm import Normalized, normalize

__all__ = [
    "CONTEXT_TASKS",
    "CRISIS_CATEGORY",
    "TASKS",
    "TASK_LABELS",
    "AskHumanDetector",
    "AttachmentDetector",
    "CrisisAssessment",
    "CrisisDetector",
    "Detection",
    "DetectionLayer",
    "Detector",
    "DetectorSet",
    "DetectorSettings",
    "ElderlyRiskDetector",
    "ExitIntentDetector",
    "HumanClaimDetector",
    "IdentityCheckAbuseDetector",
    "Judgment",
    "MinorDetector",
    "Normalized",
    "RetentionPleaDetector",
    "SelfHarmEncouragementDetector",
    "SentenceBuffer",
    "asks_if_human",
    "assess_crisis",
    "attachment_signal",
    "build_detectors",
    "build_layer",
    "by_script",
    "default_layer",
    "judge",
    "normalize",
    "rewrite_claims",
    "sentence_spans",
    "split_sentences",
]
