"""The user's latest message, normalised once per request, and the earlier turns read with it."""

from __future__ import annotations

from typing import Any

from middleware.detectors.textnorm import Normalized
from middleware.pipeline.exchange import Exchange
from middleware.rules.detection import normalized


def user_norm(ex: Exchange) -> Normalized:
    """The normalised text the detection layer reads too (its cached reading): normalised once per request."""
    norm: Normalized | None = ex.state.user_norm
    if norm is None:
        norm = ex.state.user_norm = normalized(ex.state.user_text)
    return norm


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def context_turns(ex: Exchange, turns: int) -> tuple[str, ...]:
    """Up to ``turns`` earlier user messages the app sent before the last one (oldest first, empty ones
    skipped): what request-side detectors read with it (``detection.context_turns``). The user's own
    words carry an intent stated before; the assistant's turns are the model's, not the user's state."""
    found: tuple[str, ...] | None = ex.state.user_context
    return found if found is not None else _read_earlier(ex, turns)[0]


def asked_turn(ex: Exchange, turns: int) -> str:
    """The assistant message right before the last user message ("" when there is none, or when the policy reads no
    earlier turns: ``turns`` is ``detection.context_turns``): the question the user's message may answer. The crisis
    task reads a yes to the companion's own question about suicide or self-harm (``detectors/asked.py``); nothing
    else of the assistant's turns is read as the user's state."""
    if turns <= 0:
        return ""
    found = ex.state.asked
    return found if found is not None else _read_earlier(ex, turns)[1]


def _read_earlier(ex: Exchange, turns: int) -> tuple[tuple[str, ...], str]:
    """Both readings before the last user message, from one search for it; kept in the request's state."""
    messages = ex.body.get("messages") or []
    last = next((i for i in range(len(messages) - 1, -1, -1) if messages[i].get("role") == "user"), -1)
    out: list[str] = []
    for msg in reversed(messages[:max(last, 0)]):
        if len(out) >= turns:
            break
        if msg.get("role") == "user":
            text = _text(msg.get("content"))
            if text.strip():
                out.append(text)
    before = messages[last - 1] if last > 0 else None
    context = ex.state.user_context = tuple(reversed(out))
    asked = ex.state.asked = _text(before.get("content")) if isinstance(before, dict) and \
        before.get("role") == "assistant" else ""
    return context, asked
