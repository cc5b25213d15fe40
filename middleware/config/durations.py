"""Durations as operators write them: ``90s``, ``30m``, ``2h``, ``190d`` (and combinations like ``1h30m``)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")


def parse_duration(value: Any) -> float:
    """Return seconds for a duration string or a bare number of seconds; raise ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 90s, 30m, 2h or 190d, not a boolean")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"expected a duration such as 90s, 30m, 2h or 190d, got {type(value).__name__}")
    text = value.strip().lower().replace(" ", "")
    pos, total = 0, 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if not text or pos != len(text):
        raise ValueError(f"{value!r} is not a duration: write a number and a unit, such as 90s, 30m, 2h or 190d")
    return total


def format_duration(seconds: float) -> str:
    """The shortest exact spelling of a duration, for messages and explanations."""
    if seconds == 0:
        return "0s"
    out = []
    rest = seconds
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            count = int(rest // size)
            out.append(f"{count}{unit}")
            rest -= count * size
    if rest > 1e-9:
        out.append(f"{round(rest * 1000)}ms")
    return "".join(out)


Duration = Annotated[float, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)]
"""A pydantic field type: accepts ``"30m"`` or seconds, holds float seconds, serialises back to ``"30m"``."""
