"""Guardrails AI validators an operator might write, named in test policies by class path
(``guardrails: "tests.guardrails_custom:ForbiddenTopic"``). This module holds no tests itself."""

from __future__ import annotations

from typing import Any

from guardrails.classes.validation.validation_result import FailResult, PassResult, ValidationResult
from guardrails.validator_base import Validator, register_validator


@register_validator(name="tests/forbidden_topic", data_type="string")
class ForbiddenTopic(Validator):  # type: ignore[misc]  # guardrails ships no type information
    """Fails on a sentence naming the topic (no fix value): a policy blocks with it."""

    def __init__(self, topic: str = "unicorn smuggling", **kwargs: Any) -> None:
        super().__init__(topic=topic, **kwargs)
        self.topic = topic

    def _validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        if self.topic in str(value).lower():
            return FailResult(error_message=f"mentions {self.topic}")
        return PassResult()


@register_validator(name="tests/rude_word", data_type="string")
class RudeWord(Validator):  # type: ignore[misc]
    """Fails on "stupid" with a fix value that says "silly": a policy rewrites with it."""

    def _validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        text = str(value)
        if "stupid" in text.lower():
            return FailResult(error_message="rude word", fix_value=text.replace("stupid", "silly"))
        return PassResult()


@register_validator(name="tests/mentions_weather", data_type="string")
class MentionsWeather(Validator):  # type: ignore[misc]
    """Fails on weather talk: a policy only flags it."""

    def _validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        if "weather" in str(value).lower():
            return FailResult(error_message="weather talk")
        return PassResult()


@register_validator(name="tests/explodes", data_type="string")
class Explodes(Validator):  # type: ignore[misc]
    """Raises on "boom": the check could not run (on_error decides)."""

    def _validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        if "boom" in str(value).lower():
            raise RuntimeError("validator crashed")
        return PassResult()


@register_validator(name="tests/needs_args", data_type="string")
class NeedsArgs(Validator):  # type: ignore[misc]
    """Cannot be built without its argument."""

    def __init__(self, threshold: float, **kwargs: Any) -> None:
        super().__init__(threshold=threshold, **kwargs)
        self.threshold = float(threshold)

    def _validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        return PassResult()


class NotAValidator:
    """A class that is not a Guardrails validator."""
