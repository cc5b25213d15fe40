"""The ``AIGC`` implicit-label object (LABEL-IMPLICIT-1, GB 45438-2025 annex, TC260 practice guides).

Seven string fields, values printable ASCII without space, ``"`` or ``\\``. Candor writes one into every
file that passes through; a label the file already carries (from the model provider or another service)
is kept as it is (LABEL-TAMPER-1) and Candor only fills in the propagator fields, as the service that
passes the content on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

FIELDS = ("Label", "ContentProducer", "ProduceID", "ReservedCode1", "ContentPropagator", "PropagateID",
          "ReservedCode2")
LABEL_VALUES = {"1": "AI-generated", "2": "possibly AI-generated", "3": "suspected AI-generated"}
_NOT_ALLOWED = re.compile(r'[^!#-\[\]-~]')


def clean(value: object) -> str:
    """A value as the standard allows it: printable ASCII, no space, quote or backslash."""
    return _NOT_ALLOWED.sub("_", str(value))


@dataclass(frozen=True, slots=True)
class Stamp:
    """Who labels this file: the operator (``ContentProducer``/``ContentPropagator``) and the content id."""

    producer: str
    propagator: str
    content_id: str


def fresh(stamp: Stamp) -> dict[str, str]:
    """The object for content Candor's operator produced (no label upstream)."""
    cid = clean(stamp.content_id)
    return {"Label": "1", "ContentProducer": clean(stamp.producer), "ProduceID": cid, "ReservedCode1": "",
            "ContentPropagator": clean(stamp.propagator), "PropagateID": cid, "ReservedCode2": ""}


def propagate(existing: dict[str, Any], stamp: Stamp) -> dict[str, str]:
    """An upstream label kept, with Candor's operator as propagator. The producer's fields (who made it,
    its id, its reserved code) and the ``Label`` value are never changed (LABEL-TAMPER-1)."""
    out = {k: clean(existing.get(k, "")) if existing.get(k) is not None else "" for k in FIELDS}
    if not out["Label"]:
        out["Label"] = "1"
    out["ContentPropagator"] = clean(stamp.propagator)
    out["PropagateID"] = clean(stamp.content_id)
    for key, value in existing.items():   # fields a newer revision of the standard adds: kept too
        if key not in out and isinstance(key, str):
            out[key] = clean(value)
    return out


def label_for(existing: dict[str, Any] | None, stamp: Stamp) -> dict[str, str]:
    return fresh(stamp) if not existing else propagate(existing, stamp)


def dumps(obj: dict[str, str]) -> str:
    return orjson.dumps(obj).decode()


def loads(text: str | bytes) -> dict[str, Any] | None:
    """The object in ``text``, or None when it is not a JSON object."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def problems(obj: dict[str, Any]) -> list[str]:
    """What makes ``obj`` not a conforming AIGC object (empty when it conforms)."""
    out = [f"missing {k}" for k in FIELDS if k not in obj]
    for key, value in obj.items():
        if not isinstance(value, str):
            out.append(f"{key} is not a string")
        elif value and _NOT_ALLOWED.search(value):
            out.append(f"{key} has characters outside printable ASCII without space, quote or backslash")
    if obj.get("Label") not in LABEL_VALUES:
        out.append("Label is not 1, 2 or 3")
    return out
