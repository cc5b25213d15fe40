"""History hygiene (contract 6.2): the assistant turns an app sends back in ``messages`` reach the provider
without Candor's own notices and labels. Models that see them learn to repeat them, and replies then
carried the label twice.

Every text the policy could have added is known when the policy loads (disclosure, usage, dependence and
reality reminders, the risk warning, the label and the digital-human notice, in every locale, plus the
built-in defaults): one pattern per policy strips them where Candor puts them, at the start of a turn
(notices, then a prepended label) and at its end (an appended label).
"""

from __future__ import annotations

import re
from typing import Any

from middleware.pipeline.exchange import Exchange
from middleware.policy.model import Policy, Text
from middleware.rules.audience import DEFAULT_REALITY
from middleware.rules.persona import DEFAULT_DIGITAL_HUMAN_TEXT
from middleware.rules.registry import Build, rule


def _variants(policy: Policy, *texts: Text | None) -> list[str]:
    out: list[str] = []
    for text in texts:
        if text is not None:
            out.extend(v.strip() for v in text.variants(policy.locale).values() if v.strip())
    return out


def _alternation(texts: list[str]) -> str:
    unique = sorted(set(texts), key=len, reverse=True)   # longest first: a text that extends another wins
    return "|".join(re.escape(t) for t in unique)


class HistoryHygiene:
    name = "history_hygiene"

    def __init__(self, policy: Policy) -> None:
        d, u, dep, m, el, lab = (policy.disclosure, policy.usage, policy.dependence, policy.minors,
                                 policy.elderly, policy.labels)
        notices = _variants(policy, d.notice if d else None, u.notice if u else None, dep.notice if dep else None,
                            m.reality_notice if m else None, el.risk_warning if el else None,
                            lab.digital_human_text if lab else None)
        notices += [*DEFAULT_REALITY.values(), DEFAULT_DIGITAL_HUMAN_TEXT]
        labels = _variants(policy, lab.text if lab else None)
        self._head = re.compile(rf"(?:\s*(?:{_alternation(notices + labels)}))+\s*")
        self._labels = tuple(sorted(set(labels), key=len, reverse=True))

    def clean(self, text: str) -> str:
        """``text`` without Candor's texts at its start and an appended label at its end (cost: one anchored
        match and a few ``endswith``, whatever the length of the turn)."""
        match = self._head.match(text)
        out = text[match.end():] if match else text
        end = len(out.rstrip())
        stripped = True
        while stripped and self._labels:
            stripped = False
            for label in self._labels:
                if out.endswith(label, 0, end):
                    end = len(out[:end - len(label)].rstrip())
                    stripped = True
                    break
        return out if end == len(out.rstrip()) else out[:end]

    def shape(self, ex: Exchange) -> None:
        messages = ex.body.get("messages")
        if not isinstance(messages, list):
            return
        cleaned: list[Any] | None = None
        turns = 0
        for i, msg in enumerate(messages):
            if not isinstance(msg, dict) or msg.get("role") != "assistant":
                continue
            new = self._message(msg)
            if new is not msg:
                if cleaned is None:
                    cleaned = list(messages)
                cleaned[i] = new
                turns += 1
        if cleaned is not None:
            ex.body = {**ex.body, "messages": cleaned}
            ex.decide("history_hygiene", [], "stripped", {"turns": turns})

    def _message(self, msg: dict[str, Any]) -> dict[str, Any]:
        content = msg.get("content")
        if isinstance(content, str):
            new = self.clean(content)
            return msg if new == content else {**msg, "content": new}
        if isinstance(content, list):
            parts: list[Any] = []
            changed = False
            for part in content:
                if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
                    new = self.clean(part["text"])
                    if new != part["text"]:
                        part, changed = {**part, "text": new}, True
                parts.append(part)
            return {**msg, "content": parts} if changed else msg
        return msg


@rule("history_hygiene", stage="shaper", order=5)
def _history(b: Build) -> HistoryHygiene:
    return HistoryHygiene(b.policy)
