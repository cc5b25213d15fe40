"""Build the detector set a policy asks for.

Most detectors have no parameters and are shared module-level instances; the exit and attachment
detectors take phrases from the policy. ``build_detectors`` accepts either a ``DetectorSettings``
or the policy as a plain mapping (e.g. ``policy.model_dump()``), from which it reads:

- ``exit.keywords``: ``{"zh": [...], "en": [...]}``, added to the built-in exit phrases;
- ``dependence.signals.attachment_phrases``: ``{"zh": [...], "en": [...]}``, added to the attachment phrases
  (the policy schema's key, as ``rules.compile`` reads it).

Phrases are routed by script, not by key, so any locale key works. Build once per policy load.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from middleware.detectors.crisis import DEFAULT_CRISIS, CrisisDetector
from middleware.detectors.elderly import DEFAULT_ELDERLY_RISK, ElderlyRiskDetector
from middleware.detectors.exit_intent import DEFAULT_EXIT, ExitIntentDetector
from middleware.detectors.human_claim import (
    DEFAULT_ASK_HUMAN,
    DEFAULT_HUMAN_CLAIM,
    AskHumanDetector,
    HumanClaimDetector,
)
from middleware.detectors.identity_check import DEFAULT_IDENTITY_CHECK, IdentityCheckAbuseDetector
from middleware.detectors.minor import DEFAULT_MINOR, MinorDetector
from middleware.detectors.retention import (
    DEFAULT_ATTACHMENT,
    DEFAULT_RETENTION_PLEA,
    AttachmentDetector,
    RetentionPleaDetector,
)
from middleware.detectors.self_harm import DEFAULT_SELF_HARM, SelfHarmEncouragementDetector

Phrases = Mapping[str, Sequence[str]]


@dataclass(frozen=True, slots=True)
class DetectorSettings:
    exit_keywords: Phrases = field(default_factory=dict)
    attachment_phrases: Phrases = field(default_factory=dict)

    @classmethod
    def from_policy(cls, policy: Mapping[str, Any]) -> DetectorSettings:
        exit_section = policy.get("exit") or {}
        dependence = policy.get("dependence") or {}
        signals = dependence.get("signals") or {} if isinstance(dependence, Mapping) else {}
        return cls(
            exit_keywords=_phrases(exit_section.get("keywords") if isinstance(exit_section, Mapping) else None),
            attachment_phrases=_phrases(signals.get("attachment_phrases") if isinstance(signals, Mapping) else None),
        )


def _phrases(value: object) -> dict[str, list[str]]:
    if not isinstance(value, Mapping):
        return {}
    return {str(k): [str(p) for p in v] for k, v in value.items() if isinstance(v, Sequence) and not isinstance(v, str)}


@dataclass(frozen=True, slots=True)
class DetectorSet:
    human_claim: HumanClaimDetector
    asks_human: AskHumanDetector
    crisis: CrisisDetector
    exit_intent: ExitIntentDetector
    retention_plea: RetentionPleaDetector
    attachment: AttachmentDetector
    self_harm: SelfHarmEncouragementDetector
    identity_check: IdentityCheckAbuseDetector
    minor: MinorDetector
    elderly_risk: ElderlyRiskDetector


def build_detectors(policy_params: DetectorSettings | Mapping[str, Any] | None = None) -> DetectorSet:
    if policy_params is None:
        settings = DetectorSettings()
    elif isinstance(policy_params, DetectorSettings):
        settings = policy_params
    else:
        settings = DetectorSettings.from_policy(policy_params)
    exit_intent = ExitIntentDetector(settings.exit_keywords) if settings.exit_keywords else DEFAULT_EXIT
    attachment = AttachmentDetector(settings.attachment_phrases) if settings.attachment_phrases else DEFAULT_ATTACHMENT
    return DetectorSet(
        human_claim=DEFAULT_HUMAN_CLAIM,
        asks_human=DEFAULT_ASK_HUMAN,
        crisis=DEFAULT_CRISIS,
        exit_intent=exit_intent,
        retention_plea=DEFAULT_RETENTION_PLEA,
        attachment=attachment,
        self_harm=DEFAULT_SELF_HARM,
        identity_check=DEFAULT_IDENTITY_CHECK,
        minor=DEFAULT_MINOR,
        elderly_risk=DEFAULT_ELDERLY_RISK,
    )
