"""The user's latest message, normalised once per request for every request-side detector."""

from __future__ import annotations

from ..detectors.textnorm import Normalized, normalize
from ..exchange import Exchange


def user_norm(ex: Exchange) -> Normalized:
    norm: Normalized | None = ex.state.user_norm
    if norm is None:
        norm = ex.state.user_norm = normalize(ex.state.user_text)
    return norm
