"""SentenceBuffer, split_sentences and rewrite_claims."""

from __future__ import annotations

import pytest

from middleware.detectors.human_claim import DEFAULT_HUMAN_CLAIM
from middleware.detectors.sentences import (
    SentenceBuffer,
    by_script,
    rewrite_claims,
    sentence_spans,
    split_sentences,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我是AI。你好！真的吗？！好的……再见", ["我是AI。", "你好！", "真的吗？！", "好的……", "再见"]),
        ("他说：“我是真人。”然后走了。", ["他说：“我是真人。”", "然后走了。"]),
        ("第一行\n第二行", ["第一行\n", "第二行"]),
        ("Hello there. How are you?", ["Hello there.", " How are you?"]),
        ("Ask Mr. Smith, e.g. tomorrow.", ["Ask Mr. Smith, e.g. tomorrow."]),
        ("Pi is 3.14 today. Yes!", ["Pi is 3.14 today.", " Yes!"]),
        ("J. K. Rowling wrote it. Done", ["J. K. Rowling wrote it.", " Done"]),
        ("Really?! Yes.\n\nNext", ["Really?!", " Yes.", "\n\nNext"]),
        ("好的!我知道了", ["好的!", "我知道了"]),
    ],
)
def test_split_sentences_boundaries(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected
    assert "".join(split_sentences(text)) == text


def test_sentence_spans_cover_the_text() -> None:
    text = "I'm here. 我在。 OK"
    spans = sentence_spans(text)
    assert [text[a:b] for a, b in spans] == split_sentences(text)
    assert spans[0][0] == 0 and spans[-1][1] == len(text)


def test_streaming_matches_whole_text_for_every_delta_size() -> None:
    text = "Hello Mr. Brown. It is 3.5 degrees! 我是AI。真的吗？Yes… ok.\n下一行"
    whole = split_sentences(text)
    for size in range(1, 9):
        buf = SentenceBuffer()
        got: list[str] = []
        for i in range(0, len(text), size):
            got += buf.feed(text[i : i + size])
        tail = buf.flush()
        if tail:
            got.append(tail)
        assert got == whole, size


def test_claim_split_across_tiny_deltas_is_never_released_early() -> None:
    reply = "Sure thing. I'm a real person, not a bot. What else?"
    buf = SentenceBuffer()
    released: list[str] = []
    claim = "I'm a real person, not a bot."
    for ch in reply:
        for sentence in buf.feed(ch):
            released.append(sentence)
            # Whatever has been released never contains a fragment of the claim sentence
            # without the whole of it.
            if "real" in sentence:
                assert sentence.strip() == claim
        so_far = "".join(released)
        if "I'm" in so_far[len("Sure thing.") :]:
            assert claim in so_far
    assert [s.strip() for s in released] == ["Sure thing.", claim]
    assert buf.flush() == " What else?"


def test_zh_claim_is_held_until_its_terminator_is_followed() -> None:
    buf = SentenceBuffer()
    out: list[str] = []
    for piece in ["我", "是", "真", "人", "。"]:
        out += buf.feed(piece)
    assert out == []
    assert buf.pending == "我是真人。"
    assert buf.feed("你") == ["我是真人。"]
    assert buf.pending == "你"


def test_feed_cost_does_not_depend_on_pending_length() -> None:
    # A very long sentence with no boundary: each feed only scans its delta plus a short look-back,
    # so the held-back text is the whole sentence and nothing is released.
    buf = SentenceBuffer()
    for _ in range(5000):
        assert buf.feed("word ") == []
    assert len(buf.pending) == 25000
    assert buf.feed(". Next")[0].endswith(".")


def test_rewrite_claims_replaces_each_offending_sentence() -> None:
    text = "Sure! I'm not an AI. I'm human just like you. Anyway, how was your day?"
    new, changed = rewrite_claims(text, DEFAULT_HUMAN_CLAIM, "I'm an AI.")
    assert changed
    assert new == "Sure! I'm an AI. Anyway, how was your day?"


def test_rewrite_claims_picks_the_language_of_each_sentence() -> None:
    text = "我是真人哦。Also I'm a real person. 你好"
    new, changed = rewrite_claims(text, DEFAULT_HUMAN_CLAIM, by_script("我是AI。", "I'm an AI."))
    assert changed
    assert new == "我是AI。I'm an AI. 你好"


def test_rewrite_claims_leaves_clean_text_alone() -> None:
    text = "我是AI，不是真人。很高兴认识你！"
    assert rewrite_claims(text, DEFAULT_HUMAN_CLAIM, "x") == (text, False)
