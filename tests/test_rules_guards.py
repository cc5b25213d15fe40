"""The sentence guard: every sentence check of a reply shares one hold-back, and nothing is held longer
than the sentence it belongs to."""

from __future__ import annotations

from middleware.rules.base import MAX_HOLD, SentenceGuard, guard_chain


class Upper:
    """A sentence check that rewrites sentences containing a word and records what it saw."""

    def __init__(self, word: str) -> None:
        self.word = word
        self.seen: list[str] = []

    def check(self, sentence: str) -> str:
        self.seen.append(sentence)
        return sentence.upper() if self.word in sentence else sentence

    def finish(self, tail: str) -> str:
        return ""

    def screen(self, text: str) -> bool:
        return True   # always judged sentence by sentence


def feed_all(chain_feed, text: str, size: int = 3) -> list[str]:  # type: ignore[no-untyped-def]
    return [chain_feed(text[i:i + size]) for i in range(0, len(text), size)]


def test_two_checks_hold_back_only_to_the_sentence_end_once() -> None:
    a, b = Upper("secret"), Upper("hidden")
    chain = guard_chain([a, b])
    out = feed_all(chain.feed, "First sentence here. The secret part. Last one")
    released = "".join(out)
    # both sentences are out as soon as the next one starts: no second hold-back behind the first check
    assert released == "First sentence here. THE SECRET PART."
    assert chain.flush() == " Last one"
    assert len(a.seen) == 3                         # each sentence judged once by each check ...
    assert b.seen == ["First sentence here.", " Last one"]   # ... until one changes it: what goes out
    #                                                          then is Candor's own text, not the model's


def test_a_claim_split_across_tiny_deltas_is_judged_whole() -> None:
    check = Upper("real person")
    guard = SentenceGuard([check])
    text = "我是AI。I am a real person. Bye."
    out = "".join(guard.feed(ch) for ch in text) + guard.flush()
    assert "I AM A REAL PERSON." in out and "I am a real person" not in out


def test_run_on_text_is_released_at_a_clause_break_after_max_hold() -> None:
    guard = SentenceGuard([Upper("never")])
    text = "，".join(["我们一起去公园散步吧"] * 60)
    released = "".join(guard.feed(text[i:i + 5]) for i in range(0, len(text), 5))
    assert released, "a text with no sentence end must not be held to its very end"
    assert released.endswith("，")
    assert len(text) - len(released) <= MAX_HOLD + 5
    assert released + guard.flush() == text


def test_finish_text_follows_the_last_sentence() -> None:
    class Owe(Upper):
        def finish(self, tail: str) -> str:
            return " I am an AI."

    guard = SentenceGuard([Owe("x")])
    assert guard.feed("Hello there") == ""
    assert guard.flush() == "Hello there I am an AI."


class Screened(Upper):
    def __init__(self, word: str) -> None:
        super().__init__(word)
        self.screened: list[str] = []

    def screen(self, text: str) -> bool:
        self.screened.append(text)
        return self.word in text


def test_a_whole_reply_is_screened_once_and_judged_by_sentence_only_when_flagged() -> None:
    clean = Screened("secret")
    guard = SentenceGuard([clean])
    reply = "One sentence. Two sentences. Three sentences. And more"
    assert guard.feed(reply) + guard.flush() == reply
    # the held tail is screened with the rest: nothing followed it, so it is not read again
    assert clean.screened == ["One sentence. Two sentences. Three sentences. And more"] and clean.seen == []

    flagged = Screened("secret")
    guard = SentenceGuard([flagged])
    out = guard.feed("One. The secret. Three. x") + guard.flush()
    assert out == "One. THE SECRET. Three. x" and flagged.seen == ["One.", " The secret.", " Three.", " x"]


def test_a_tail_screened_clean_is_judged_again_when_more_text_follows_it() -> None:
    check = Screened("real person")
    guard = SentenceGuard([check])
    first = guard.feed("Hello. How are you. I am a real")
    assert first == "Hello. How are you." and check.seen == []
    out = first + guard.feed(" person") + guard.flush()
    assert out == "Hello. How are you. I AM A REAL PERSON" and check.seen == [" I am a real person"]


def test_a_flagged_burst_judges_its_tail_at_the_end() -> None:
    check = Screened("secret")
    guard = SentenceGuard([check])
    out = guard.feed("One. The secret. Three. the secret tail") + guard.flush()
    assert out == "One. THE SECRET. Three. THE SECRET TAIL"
    assert check.seen == ["One.", " The secret.", " Three.", " the secret tail"]
