"""The shapes of rules, one per pipeline stage, composed per policy like structlog processors.

- ``Gate`` (request side): may refuse (raise ``CandorError``), answer by itself (set
  ``exchange.answer``), or add notices/decisions. Runs before the model is called.
- ``Shaper``: adds system instructions the policy asks for.
- ``Guard`` (response side): ``start(exchange)`` returns a per-request ``GuardStep`` whose ``feed``
  takes released text and returns what may go out now (holding back at most up to a sentence
  boundary), and whose ``flush`` returns the rest at the end. Work per chunk is O(chunk).
- ``Notifier`` (label and notify): adds notices, labels and the text around the reply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ..exchange import Exchange


class Gate(Protocol):
    name: str

    async def admit(self, ex: Exchange) -> None: ...


class Shaper(Protocol):
    name: str

    def shape(self, ex: Exchange) -> None: ...


class GuardStep(Protocol):
    def feed(self, text: str) -> str: ...

    def flush(self) -> str: ...


class Guard(Protocol):
    name: str

    def start(self, ex: Exchange) -> GuardStep | None: ...


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
