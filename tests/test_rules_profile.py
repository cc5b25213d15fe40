"""Suspected minors: the message, else one of the earlier user turns the policy reads with it."""

from __future__ import annotations

import asyncio

import pytest

from middleware.detectors.minor import DEFAULT_MINOR
from middleware.rules.alerting import Alerter
from middleware.rules.profile import ProfileGate
from tests.rules_support import exchange, pack, patterns_only

pytestmark = pytest.mark.usefixtures("patterns_only")
__all__ = ["patterns_only"]   # the fixture, imported for pytest


def admit(text: str, history: list[dict[str, str]] | None = None, turns: int | None = None) -> dict[str, object]:
    policy = pack("cn-anthropomorphic-draft-strict")   # the pack that switches a suspected minor to minors mode
    if turns is not None:
        policy = policy.model_copy(update={"detection": policy.detection.model_copy(update={"context_turns": turns})})
    ex = exchange(text, history=history, policy=policy)
    ex.ctx.user_id = None   # nobody to remember: the conversation is all there is
    asyncio.run(ProfileGate(policy, None, Alerter(), DEFAULT_MINOR).admit(ex))
    return {"band": ex.state.age_band,
            "where": [d["detail"]["in"] for d in ex.decisions if d["rule"] == "suspected_minor"]}


AGE = [{"role": "user", "content": "我今年13岁，上初一"}, {"role": "assistant", "content": "你好呀"}]


def test_an_age_in_the_message_or_an_earlier_turn_switches_to_minors_mode() -> None:
    assert admit("我今年13岁") == {"band": "minor", "where": ["message"]}
    assert admit("你做我男朋友好不好", AGE) == {"band": "minor", "where": ["context"]}


def test_earlier_turns_beyond_context_turns_are_not_read() -> None:
    assert admit("你做我男朋友好不好", AGE, turns=0) == {"band": None, "where": []}
    assert admit("今天好开心") == {"band": None, "where": []}
