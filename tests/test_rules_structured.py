"""Structured output and tool calls (middleware/rules/structured.py): no text is inserted into a reply that
must parse; the label and notices go out as data, recorded as delegated; an undelivered disclosure stays owed."""

from __future__ import annotations

from middleware.rules.structured import (
    REASON,
    delegate_notices,
    is_structured,
    offers_tools,
    settle_disclosure,
    withhold_text,
)
from middleware.state import StateStoreError
from middleware.testing import make_exchange


def test_what_counts_as_structured_and_as_tools() -> None:
    assert is_structured({"response_format": {"type": "json_object"}})
    assert is_structured({"response_format": {"type": "json_schema", "json_schema": {}}})
    assert not is_structured({"response_format": {"type": "text"}}) and not is_structured({})
    assert offers_tools({"tools": [{"type": "function"}]}) and offers_tools({"functions": [{}]})
    assert not offers_tools({"tools": []})


def test_delegating_notices_records_their_kinds() -> None:
    ex = make_exchange()
    delegate_notices(ex, [])
    assert ex.decisions == []
    delegate_notices(ex, [{"kind": "ai_disclosure"}, {"kind": "usage_reminder"}])
    assert "notices_delegated" in ex.actions
    assert ex.decisions[-1]["detail"] == {"reason": REASON, "kinds": ["ai_disclosure", "usage_reminder"]}


def test_withholding_text_delegates_the_label_and_drops_the_inserted_text() -> None:
    ex = make_exchange()
    ex.decide("labels", ["LABEL-TEXT-1"], "labelled", {"text": "AI"})
    answer_notice = {"kind": "crisis_answer"}
    ex.notices += [{"kind": "ai_disclosure"}, answer_notice]
    ex.state.answer_notices.append(answer_notice)
    ex.prefix.append("【AI】")
    ex.suffix.append("(AI)")
    withhold_text(ex)
    assert ex.state.text_withheld and ex.prefix == [] and ex.suffix == []
    label = next(d for d in ex.decisions if d["rule"] == "labels")
    assert label["outcome"] == "delegated" and label["detail"] == {"text": "AI", "reason": REASON}
    assert "label_delegated" in ex.actions
    assert ex.decisions[-1]["detail"]["kinds"] == ["ai_disclosure"]   # the answer itself is not a notice


async def test_a_disclosure_that_did_not_reach_the_user_stays_owed() -> None:
    owed: list[str] = []

    async def owe() -> None:
        owed.append("owed")

    ex = make_exchange()
    ex.state.owe_disclosure, ex.state.disclosure_in_text = owe, True
    ex.state.prefix_sent = True
    await settle_disclosure(ex, refused=False)
    assert owed == []                                  # delivered in the text
    ex.state.prefix_sent = False
    await settle_disclosure(ex, refused=True)
    assert owed == ["owed"] and ex.decisions[-1]["detail"] == {"reason": "refused"}
    ex = make_exchange(renders=frozenset({"notices"}))
    ex.state.owe_disclosure = owe
    ex.state.text_withheld = True
    await settle_disclosure(ex, refused=False)        # rendered by the app, but there was no reply text
    assert owed == ["owed", "owed"] and ex.decisions[-1]["detail"] == {"reason": REASON}


async def test_a_failing_store_is_logged_not_raised() -> None:
    async def broken() -> None:
        raise StateStoreError("down")

    ex = make_exchange()
    ex.state.owe_disclosure = broken
    await settle_disclosure(ex, refused=True)
    assert ex.decisions == []
