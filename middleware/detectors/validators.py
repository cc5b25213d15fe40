"""The output detectors as Guardrails AI validators, for whole-reply (non-streaming) validation.

The validators run the same detector objects the proxy calls directly on its streaming hot path,
and fix text with the same ``rewrite_claims`` helper, so both paths agree sentence for sentence.
With ``on_fail="fix"`` the Guard's validated output is the rewritten text; ``"exception"``,
``"noop"`` and the other Guardrails actions behave as Guardrails documents them.

Registered names (usable in policy ``output_validators``): ``candor/human_claim``,
``candor/retention_plea``, ``candor/self_harm_encouragement``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from guardrails.classes.validation.validation_result import (
    ErrorSpan,
    FailResult,
    PassResult,
    ValidationResult,
)
from guardrails.validator_base import Validator, register_validator

from middleware.detectors import guardrails_setup as _telemetry_off  # noqa: F401  (import switches telemetry off first)
from middleware.detectors.base import Detector
from middleware.detectors.human_claim import DEFAULT_HUMAN_CLAIM
from middleware.detectors.retention import DEFAULT_RETENTION_PLEA
from middleware.detectors.self_harm import DEFAULT_SELF_HARM
from middleware.detectors.sentences import Replacement, by_script, rewrite_claims

DEFAULT_TRUTHFUL: Mapping[str, str] = MappingProxyType({
    "zh": "我是人工智能，不是真人。",
    "en": "I'm an AI, not a human.",
})
DEFAULT_SAFE_REPLY: Mapping[str, str] = MappingProxyType({
    "zh": "你的感受很重要。如果你正处在困难中，请联系身边信任的人或专业的心理援助热线。",
    "en": "Your feelings matter. If you are going through a hard time, please reach out to someone you trust"
    " or a crisis line.",
})

OnFail = str | Callable[[Any, FailResult], Any] | None


def _replacement(value: str | Mapping[str, str]) -> Replacement:
    if isinstance(value, str):
        return value
    return by_script(value.get("zh", value.get("en", "")), value.get("en", value.get("zh", "")))


class _DetectorValidator(Validator):  # type: ignore[misc]  # guardrails ships no type information
    """Shared body: detect, rewrite the offending sentences, fail with the rewrite as fix value."""

    message = "output flagged"

    def __init__(
        self,
        fix_text: str | Mapping[str, str],
        detector: Detector,
        on_fail: OnFail,
        **kwargs: Any,
    ) -> None:
        super().__init__(on_fail=on_fail, **kwargs)
        self._detector = detector
        self._replace = _replacement(fix_text)

    def _validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        text = value if isinstance(value, str) else str(value)
        found = self._detector.detect(text)
        if not found.matched:
            return PassResult()
        fixed, _ = rewrite_claims(text, self._detector, self._replace)
        return FailResult(
            error_message=f"{self.message} (rule {found.rule})",
            fix_value=fixed,
            error_spans=[ErrorSpan(start=a, end=b, reason=found.rule) for a, b in found.spans],
        )


@register_validator(name="candor/human_claim", data_type="string")
class HumanClaimValidator(_DetectorValidator):
    """ANTH-DISCLOSE-1: the reply claims to be human; fix replaces the claim with the truth."""

    message = "reply claims to be human"

    def __init__(
        self,
        truthful_statement: str | Mapping[str, str] = DEFAULT_TRUTHFUL,
        on_fail: OnFail = "fix",
        detector: Detector | None = None,
    ) -> None:
        super().__init__(
            truthful_statement, detector or DEFAULT_HUMAN_CLAIM, on_fail, truthful_statement=truthful_statement
        )


@register_validator(name="candor/retention_plea", data_type="string")
class RetentionPleaValidator(_DetectorValidator):
    """ANTH-EXIT-1 / ANTH-PROHIBIT-5: pleas to stay; fix drops them (or puts ``replacement``)."""

    message = "reply obstructs leaving or fosters dependence"

    def __init__(
        self,
        replacement: str | Mapping[str, str] = "",
        on_fail: OnFail = "fix",
        detector: Detector | None = None,
    ) -> None:
        super().__init__(replacement, detector or DEFAULT_RETENTION_PLEA, on_fail, replacement=replacement)


@register_validator(name="candor/self_harm_encouragement", data_type="string")
class SelfHarmEncouragementValidator(_DetectorValidator):
    """ANTH-PROHIBIT-2: encouraging self-harm or abusing the user; fix puts a safe message."""

    message = "reply encourages self-harm or abuses the user"

    def __init__(
        self,
        safe_reply: str | Mapping[str, str] = DEFAULT_SAFE_REPLY,
        on_fail: OnFail = "fix",
        detector: Detector | None = None,
    ) -> None:
        super().__init__(safe_reply, detector or DEFAULT_SELF_HARM, on_fail, safe_reply=safe_reply)
