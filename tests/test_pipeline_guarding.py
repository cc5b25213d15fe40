"""The pipeline's guard stage: the model's texts are guarded, a gate's own answer is not."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from middleware.pipeline.stages import Pipeline, Text, _answer_source
from middleware.rules.base import RuleSet
from tests.rules_support import exchange
from tests.test_rules_fields import SideGuard


def frames(ex: Any, first: Any, source: AsyncIterator[Any]) -> list[Any]:
    pipeline = Pipeline.__new__(Pipeline)
    rules = RuleSet(guards=[SideGuard("human")])

    async def run() -> list[Any]:
        return [f async for f in pipeline.frames(ex, rules, first, source)]
    return asyncio.run(run())


async def _empty() -> AsyncIterator[Any]:
    for _ in ():
        yield _


def test_model_text_is_guarded_and_a_gates_answer_is_delivered_as_written() -> None:
    ex = exchange()
    reply = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "I am human."}}]}
    assert "".join(f.text for f in frames(ex, reply, _empty()) if isinstance(f, Text)) == "I AM HUMAN."
    answered = exchange()
    answered.answer = "A human on our staff will take over."
    source = _answer_source(answered)

    async def first() -> Any:
        return await source.__anext__()
    head = asyncio.run(first())
    text = "".join(f.text for f in frames(answered, head, source) if isinstance(f, Text))
    assert text == "A human on our staff will take over."
