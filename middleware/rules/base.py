"""The shapes of rules, one per pipeline stage, composed per policy like structlog processors.

- ``Gate`` (request side): may refuse (raise ``CandorError``), answer by itself (set
  ``exchange.answer``), or add notices/decisions. Runs before the model is called.
- ``Shaper``: adds system instructions the policy asks for.
- ``Guard`` (response side): ``start(exchange)`` returns a per-request step: either a ``GuardStep``
  whose ``feed`` takes released text and returns what may go out now, and whose ``flush`` returns the
  rest at the end; or a ``SentenceCheck`` that judges whole sentences. All sentence checks of a reply
  share one ``SentenceGuard``, which holds text back only up to the next sentence end (once, not once
  per check). Work per chunk is O(chunk). ``side(exchange, where)`` gives the same checks for the
  reply's other texts (``rules/fields.py``).
- ``Notifier`` (label and notify): adds notices, labels and the text around the reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol, cast, runtime_checkable

from middleware.detectors.sentences import SentenceBuffer
from middleware.pipeline.exchange import Exchange


class Gate(Protocol):
    name: str

    async def admit(self, ex: Exchange) -> None: ...


class Shaper(Protocol):
    name: str

    def shape(self, ex: Exchange) -> None: ...


class GuardStep(Protocol):
    def feed(self, text: str) -> str: ...

    def flush(self) -> str: ...


@runtime_checkable
class SentenceCheck(Protocol):
    def check(self, sentence: str) -> str:
        """The sentence as it may go out: itself, rewritten, or "" (dropped)."""
        ...

    def finish(self, tail: str) -> str:
        """Text owed at the end of the reply (``tail``: what the last flush released)."""
        ...

    def screen(self, text: str) -> bool:
        """For several sentences at once: False when every one would pass unchanged (the check then
        counts them as passed, as ``check`` would); True to have each judged by ``check``."""
        ...


class Guard(Protocol):
    name: str

    def start(self, ex: Exchange) -> GuardStep | SentenceCheck | None: ...

    def side(self, ex: Exchange, where: str) -> GuardStep | SentenceCheck | None:
        """A step for another text of the reply (``where``: ``choices[1].content``, a reasoning field, a
        tool call's arguments): the same checks, nothing added around the text (``rules/fields.py``)."""
        ...


class Notifier(Protocol):
    name: str

    def before(self, ex: Exchange) -> None: ...

    def after(self, ex: Exchange) -> None: ...


@dataclass(slots=True)
class RuleSet:
    """The rules of one policy version, compiled once when the policy loads."""

    gates: list[Gate] = field(default_factory=list)
    shapers: list[Shaper] = field(default_factory=list)
    guards: list[Guard] = field(default_factory=list)
    notifiers: list[Notifier] = field(default_factory=list)


MAX_HOLD = 240                      # characters held back at most while waiting for a sentence end
_CLAUSE = re.compile(r"[，,；;：:、]\s*|\s+")


def cut_clause(buf: SentenceBuffer) -> str:
    """Release the held text up to its last clause break (or all of it), keeping the rest held."""
    text = buf.flush()
    cut = len(text)
    for match in _CLAUSE.finditer(text):
        if match.end() < len(text):
            cut = match.end()
    head, tail = text[:cut], text[cut:]
    if tail:
        buf.feed(tail)
    return head


class SentenceGuard:
    """Runs every sentence check of a reply on each sentence as it completes, holding text back only to
    the next sentence end (or, in a run-on text, to a clause break once ``MAX_HOLD`` characters wait)."""

    __slots__ = ("_buf", "_checks", "_screened")

    def __init__(self, checks: list[SentenceCheck]) -> None:
        self._buf = SentenceBuffer()
        self._checks = checks
        self._screened: str | None = None   # the held tail, as screened clean with the burst before it

    def _judge(self, sentence: str) -> str:
        for check in self._checks:
            out = check.check(sentence)
            if out != sentence:
                # rewritten, removed or replaced: what goes out now is Candor's own text (the truthful
                # statement, a safe reply), which later checks must not judge as the model's
                return out
        return sentence

    def feed(self, text: str) -> str:
        done = self._buf.feed(text)
        if not done:
            if len(self._buf.pending) <= MAX_HOLD:
                return ""
            done = [cut_clause(self._buf)]
        if len(done) > 1:
            # a whole reply (or a burst): one detector pass over all of it, the held tail included, and
            # sentence by sentence only where something may need changing. Detectors judge clause by
            # clause, so a sentence flagged alone is flagged in the whole text too. A tail that nothing
            # follows (a whole non-streamed reply's last sentence) is then not read a second time.
            joined = "".join(done)
            tail = self._buf.pending
            # every check screens the burst (no short cut at the first that wants it sentence by sentence): each
            # keeps what it found nothing in, and its sentences skip those checks
            wanted = [check.screen(joined + tail) for check in self._checks]
            if not any(wanted):
                self._screened = tail
                return joined
        return "".join(self._judge(s) for s in done)

    def flush(self) -> str:
        rest = self._buf.flush()
        # a tail screened clean with the burst before it, with nothing after it, is not read again
        out = rest if not rest or rest == self._screened else self._judge(rest)
        self._screened = None
        for check in self._checks:
            out += check.finish(out)
        return out


def guard_chain(steps: list[GuardStep | SentenceCheck]) -> GuardChain:
    """One chain for a reply: sentence checks grouped behind one shared sentence buffer, in place of
    the first of them; other steps in their order."""
    out: list[GuardStep] = []
    sentences: list[SentenceCheck] = []
    for step in steps:
        if hasattr(step, "check"):   # a SentenceCheck (isinstance on a runtime protocol costs ~10 µs)
            if not sentences:
                out.append(SentenceGuard(sentences))
            sentences.append(cast(SentenceCheck, step))
        else:
            out.append(step)
    return GuardChain(out)


class GuardChain:
    """Runs the per-request guard steps in order; text released by one is fed to the next."""

    __slots__ = ("_steps",)

    def __init__(self, steps: list[GuardStep]) -> None:
        self._steps = steps

    def feed(self, text: str) -> str:
        for step in self._steps:
            if not text:
                return ""
            text = step.feed(text)
        return text

    def flush(self) -> str:
        out = ""
        for step in self._steps:
            out = step.feed(out) if out else ""
            out += step.flush()
        return out
