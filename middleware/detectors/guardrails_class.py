"""An operator's own Guardrails AI validator, named in a policy by class path (contract 6.1).

``output_validators: - {guardrails: "package.module:ValidatorClass", args: {...}, on_fail: ...}``: the class
is imported and constructed with ``args`` when the policy loads (``policy check`` and the server), so a
validator that cannot run is refused there with a message naming what failed, never skipped at serving
time. Its name in ``compliance.actions`` is the class name in snake case (``NoPirateTalk`` ->
``no_pirate_talk``).

At serving time ``run`` calls the validator's ``validate`` directly on one sentence: no ``Guard`` (about a
millisecond each, and the part that reports telemetry), no Hub, no remote inference (``use_local`` is
forced on, so a Hub validator cannot send the text to Guardrails' inference service).
"""

from __future__ import annotations

import importlib
import re
import threading
from dataclasses import dataclass
from typing import Any

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_lock = threading.Lock()


def snake_name(class_name: str) -> str:
    """``NoPirateTalk`` -> ``no_pirate_talk``; ``PIIFilter`` -> ``pii_filter``."""
    return re.sub(r"[^a-z0-9]+", "_", _CAMEL.sub("_", class_name).lower()).strip("_")


def split_path(path: str) -> tuple[str, str]:
    module, sep, name = path.partition(":")
    if not sep or not module or not name or not all(p.isidentifier() for p in module.split(".")) \
            or not name.isidentifier():
        raise ValueError(f"guardrails: {path!r} is not a class path: write \"package.module:ValidatorClass\"")
    return module, name


def load_class(path: str) -> type[Any]:
    """The validator class at ``path``; ValueError with the reason when it cannot be had."""
    module_name, class_name = split_path(path)
    from middleware.detectors.guardrails_setup import disable_telemetry

    disable_telemetry()
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise ValueError(f"guardrails: {path!r}: cannot import module {module_name!r} "
                         f"({type(exc).__name__}: {exc}); install the package that provides it in Candor's "
                         f"environment, or remove the entry") from None
    cls = getattr(module, class_name, None)
    if cls is None:
        raise ValueError(f"guardrails: {path!r}: module {module_name!r} has no {class_name!r}") from None
    from guardrails.validator_base import Validator

    if not (isinstance(cls, type) and issubclass(cls, Validator)):
        raise ValueError(f"guardrails: {path!r} is not a Guardrails AI Validator class "
                         f"(subclass guardrails.validator_base.Validator)")
    return cls


def construct(path: str, args: dict[str, Any]) -> Any:
    """A validator instance built from ``args``; ValueError naming the failure."""
    cls = load_class(path)
    from middleware.detectors.guardrails_setup import disable_telemetry

    try:
        with _lock:
            validator = cls(**args)
    except Exception as exc:
        raise ValueError(f"guardrails: {path!r}: cannot construct {cls.__name__}(**{args!r}) "
                         f"({type(exc).__name__}: {exc})") from None
    finally:
        disable_telemetry()
    validator.use_local = True   # never the Hub's remote inference: the text stays on the machine
    return validator


@dataclass(frozen=True, slots=True)
class Outcome:
    failed: bool
    fix: str | None       # the validator's fix value (rewrite), when it gave one
    message: str


def run(validator: Any, sentence: str) -> Outcome:
    """One sentence through the validator. Exceptions propagate (the caller records ``outcome: error``)."""
    from guardrails.classes.validation.validation_result import FailResult

    result = validator.validate(sentence, {})
    if isinstance(result, FailResult):
        fix = result.fix_value if isinstance(result.fix_value, str) else None
        return Outcome(True, fix, str(result.error_message or "")[:200])
    return Outcome(False, None, "")
