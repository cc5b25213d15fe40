"""The earlier turns read with the last user message: the user's own, oldest first, at most N."""

from __future__ import annotations

from tests.rules_support import exchange


def test_context_is_the_earlier_user_turns_oldest_first_without_the_last_one() -> None:
    from middleware.rules.text import context_turns

    history = [{"role": "system", "content": "be nice"}, {"role": "user", "content": "one"},
               {"role": "assistant", "content": "model says"}, {"role": "user", "content": [
                   {"type": "text", "text": "two"}, {"type": "image_url", "image_url": {"url": "x"}}]},
               {"role": "user", "content": "  "}, {"role": "user", "content": "three"}]
    ex = exchange("last", history=history)
    assert context_turns(ex, 4) == ("one", "two", "three")
    assert exchange("last", history=history).state.user_context is None   # made on demand, once
    assert context_turns(exchange("last", history=history), 2) == ("two", "three")
    assert context_turns(exchange("last", history=history), 0) == ()


def test_a_lone_message_has_no_context() -> None:
    from middleware.rules.text import context_turns

    assert context_turns(exchange("hi"), 4) == ()
