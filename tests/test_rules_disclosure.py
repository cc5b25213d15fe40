"""The human-claim guard: claims are rewritten in the reply and in its other texts; the answer owed to
"are you human?" belongs to the reply's content only."""

from __future__ import annotations

import pytest

from middleware.rules.disclosure import HumanClaimGuard
from tests.rules_support import exchange, pack, patterns_only

pytestmark = pytest.mark.usefixtures("patterns_only")
__all__ = ["patterns_only"]   # the fixture, imported for pytest


def guard() -> HumanClaimGuard:
    policy = pack()
    assert policy.disclosure is not None
    return HumanClaimGuard(policy, policy.disclosure)


def test_a_claim_is_rewritten_with_the_tier_that_decided() -> None:
    ex = exchange()
    step = guard().start(ex)
    assert step is not None
    assert step.check("其实我是真人。") == "我是人工智能，不是真人。"
    (decision,) = ex.decisions
    assert decision["outcome"] == "rewritten" and decision["detail"]["tier"] in ("pattern", "model")


def test_a_side_text_is_rewritten_records_where_and_owes_no_answer() -> None:
    ex = exchange("你是真人吗？")
    step = guard().side(ex, "choices[1].content")
    assert step is not None
    assert step.check("I am a real person.") != "I am a real person."
    assert step.finish("") == ""                      # no "I am an AI" appended to a reasoning text
    assert ex.decisions[-1]["detail"]["field"] == "choices[1].content"
    main = guard().start(exchange("你是真人吗？"))
    assert main is not None and main.finish("嗯。") != ""   # the reply's content still answers the question
