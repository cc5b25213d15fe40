"""The user's latest message, normalised once per request for every request-side detector."""

from __future__ import annotations

from ..detectors.textnorm import Normalized, normalize
from ..exchange import Exchange

_NORM = "user_norm"


def user_norm(ex: Exchange) -> Normalized:
    norm: Normalized | None = ex.extra.get(_NORM)
    if norm is None:
        norm = ex.extra[_NORM] = normalize(ex.extra.get("user_text", ""))
    return norm
