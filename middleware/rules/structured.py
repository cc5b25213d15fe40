"""Structured output and tool calls (contract 6.2): Candor inserts no text into a reply that must parse
(``response_format`` ``json_object`` / ``json_schema``) or that is only tool calls. The label and the
notices still go out as data (``compliance``); the decision says ``label_delegated`` with ``reason:
structured_output``; a disclosure that was due is owed to the next reply that has text
(``rules/session.py``, settled in ``settle_disclosure``)."""

from __future__ import annotations

from typing import Any

import structlog

from middleware.pipeline.exchange import Exchange
from middleware.state import StateStoreError

REASON = "structured_output"
_JSON_FORMATS = ("json_object", "json_schema")
log = structlog.get_logger("candor.rules")


def is_structured(body: dict[str, Any]) -> bool:
    fmt = body.get("response_format")
    return isinstance(fmt, dict) and fmt.get("type") in _JSON_FORMATS


def offers_tools(body: dict[str, Any]) -> bool:
    return bool(body.get("tools") or body.get("functions"))


def delegate_notices(ex: Exchange, shown: list[dict[str, Any]]) -> None:
    """The notices go out as data only, for a reply that must carry no inserted text."""
    if shown:
        ex.act("notices_delegated")
        ex.decide("notices", [], "delegated", {"reason": REASON, "kinds": [n["kind"] for n in shown]})


def withhold_text(ex: Exchange) -> None:
    """A reply that turned out to be only tool calls: nothing Candor meant to insert was sent; record the
    label and notices as delegated (they are in ``compliance``) and drop the unsent text from the record."""
    ex.state.text_withheld = True
    for decision in ex.decisions:
        if decision["rule"] == "labels" and decision["outcome"] == "labelled":
            decision["outcome"] = "delegated"
            decision["detail"] = {**(decision["detail"] or {}), "reason": REASON}
            ex.act("label_delegated")
    answered = ex.state.answer_notices
    delegate_notices(ex, [n for n in ex.notices if not any(n is a for a in answered)])
    ex.prefix.clear()
    ex.suffix.clear()


async def settle_disclosure(ex: Exchange, refused: bool) -> None:
    """A disclosure decided for this request that did not reach the user in text stays due (ANTH-DISCLOSE-1):
    refusals, errors, structured output and tool-call-only replies never spend it."""
    owe = ex.state.owe_disclosure
    if owe is None:
        return
    if ex.state.disclosure_in_text:
        delivered = ex.state.prefix_sent
    else:   # the app renders notices itself: delivered with the reply's data, unless there was no reply
        delivered = not refused and ex.ctx.renders_notices and not ex.state.text_withheld
    if delivered:
        return
    try:
        await owe()
        ex.decide("disclosure", [], "owed", {"reason": "refused" if refused else REASON})
    except StateStoreError as exc:
        log.warning("disclosure_not_owed", error=str(exc), event_id=ex.event_id)
