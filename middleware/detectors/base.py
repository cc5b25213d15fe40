"""Common types and matching machinery for the built-in text detectors.

Every detector works the same way: normalise the text once (``normalize``), run one combined,
precompiled regex per language whose named groups are the rule names, then look at the *clause*
around each hit to reject the contexts that flip its meaning (negation, hypotheticals, reported
speech, questions). Hits are rare, so the per-hit context checks cost nothing on typical traffic;
the scan itself is a single regex pass per language.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from middleware.detectors.prefilter import GatedPattern
from middleware.detectors.textnorm import Normalized, normalize, normalize_phrase

HAS_CJK = re.compile(r"[\u3400-\u9fff]")
HAS_LATIN = re.compile(r"[a-z]")


@dataclass(frozen=True, slots=True)
class Detection:
    """The outcome of one detector on one text.

    ``spans`` are ``(start, end)`` offsets into the text the caller passed (not the normalised
    form), one per matched phrase; ``rule`` names the pattern that fired first ("" when none).
    """

    label: str
    matched: bool
    spans: list[tuple[int, int]]
    rule: str


@dataclass(frozen=True, slots=True)
class Hit:
    """A rule hit in canonical (normalised) coordinates."""

    rule: str
    start: int
    end: int


class Detector(ABC):
    """A precompiled, stateless text detector. Thread-safe; build once, call often."""

    name: ClassVar[str]
    label: ClassVar[str]
    none_label: ClassVar[str] = "none"

    def detect(self, text: str) -> Detection:
        return self.detect_normalized(normalize(text))

    def detect_normalized(self, norm: Normalized) -> Detection:
        """Detect on text already normalised (lets a caller normalise once for many detectors)."""
        return self.to_detection(norm, self.hits_of(norm))

    def hits_of(self, norm: Normalized) -> list[Hit]:
        """``hits`` of a normalised text, kept for the last text read: checks that share a detector
        (self-harm encouragement and verbal abuse, say) read the same sentence one after the other. Kept by
        identity of the text, so an equal text normalised anew is read again."""
        last = self.__dict__.get("_last_hits")
        if last is not None and last[0] is norm.text:
            return last[1]  # type: ignore[no-any-return]
        found = self.hits(norm.text)
        self._last_hits = (norm.text, found)
        return found

    @abstractmethod
    def hits(self, text: str) -> list[Hit]:
        """Accepted hits on canonical text."""

    def to_detection(self, norm: Normalized, hits: Sequence[Hit], label: str | None = None) -> Detection:
        if not hits:
            return Detection(self.none_label, False, [], "")
        spans = [norm.to_original(h.start, h.end) for h in hits]
        return Detection(label or self.label, True, spans, hits[0].rule)


# --- building patterns -----------------------------------------------------------------------


def alt(words: Iterable[str]) -> str:
    """A non-capturing alternation of literal phrases, longest first (so the longest wins)."""
    unique = sorted(set(words), key=lambda w: (-len(w), w))
    return "(?:" + "|".join(re.escape(w) for w in unique) + ")"


def combine(rules: Mapping[str, str]) -> GatedPattern:
    """One regex for a family: each rule is a named group, ``m.lastgroup`` says which fired.

    Rule bodies must use only non-capturing groups so that the named group is the last one set.
    The pattern comes with a literal prefilter derived from it (see ``prefilter.py``).
    """
    return GatedPattern(re.compile("|".join(f"(?P<{name}>{body})" for name, body in rules.items())),
                        tuple(rules.items()))


def phrase_pattern(phrases: Iterable[str], *, latin_word_bounds: bool) -> str | None:
    """Alternation for policy-supplied phrases, normalised like the text they will meet."""
    canon = [p for p in (normalize_phrase(x) for x in phrases) if p]
    if not canon:
        return None
    body = alt(canon)
    return rf"(?<![a-z0-9']){body}(?![a-z0-9'])" if latin_word_bounds else body


def split_extra(extra: Mapping[str, Sequence[str]] | None) -> tuple[list[str], list[str]]:
    """Split a ``{"zh": [...], "en": [...]}`` mapping into (CJK phrases, Latin phrases).

    Phrases are routed by script rather than by key, so a list under another locale key (say
    ``zh-TW`` or ``fr``) still lands in the right matcher.
    """
    cjk: list[str] = []
    latin: list[str] = []
    for phrases in (extra or {}).values():
        for phrase in phrases:
            (cjk if HAS_CJK.search(phrase) else latin).append(phrase)
    return cjk, latin


def _phrase_bodies(extra: Mapping[str, Sequence[str]] | None) -> tuple[str | None, str | None]:
    """A policy's own phrases as (zh, en) regex bodies, routed by script; None where it gives none."""
    cjk, latin = split_extra(extra)
    return phrase_pattern(cjk, latin_word_bounds=False), phrase_pattern(latin, latin_word_bounds=True)


def with_policy_phrases(extra: Mapping[str, Sequence[str]] | None, group: str,
                        zh: tuple[Mapping[str, str], GatedPattern],
                        en: tuple[Mapping[str, str], GatedPattern]) -> tuple[GatedPattern, GatedPattern]:
    """A family's (zh, en) patterns with a policy's own phrases added as one more rule each,
    ``<group>_zh`` / ``<group>_en``; the precompiled patterns themselves when the policy adds none."""
    zh_body, en_body = _phrase_bodies(extra)
    (zh_rules, zh_compiled), (en_rules, en_compiled) = zh, en
    return (zh_compiled if zh_body is None else combine({f"{group}_zh": zh_body, **zh_rules}),
            en_compiled if en_body is None else combine({f"{group}_en": en_body, **en_rules}))


def policy_phrases(extra: Mapping[str, Sequence[str]] | None, group: str) -> tuple[GatedPattern | None,
                                                                                 GatedPattern | None]:
    """A policy's own phrases alone as (zh, en) patterns, rules ``<group>_zh`` / ``<group>_en``; None for a
    script the policy gives no phrases in."""
    zh, en = _phrase_bodies(extra)
    return (None if zh is None else combine({f"{group}_zh": zh}),
            None if en is None else combine({f"{group}_en": en}))


# --- clause and sentence context -------------------------------------------------------------

_CLAUSE_BREAKS = frozenset(",!?;。\n")
_SENTENCE_BREAKS = frozenset("!?。\n")


def _is_break(text: str, i: int, breaks: frozenset[str]) -> bool:
    ch = text[i]
    if ch in breaks:
        return True
    if ch == ".":
        nxt = text[i + 1] if i + 1 < len(text) else " "
        return not ("a" <= nxt <= "z" or "0" <= nxt <= "9")
    return False


def _bounds(text: str, start: int, end: int, breaks: frozenset[str]) -> tuple[int, int]:
    lo = start
    while lo > 0 and not _is_break(text, lo - 1, breaks):
        lo -= 1
    hi = end
    while hi < len(text) and not _is_break(text, hi, breaks):
        hi += 1
    return lo, hi


def clause_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """The clause (between commas, semicolons and sentence ends) holding ``[start, end)``."""
    return _bounds(text, start, end, _CLAUSE_BREAKS)


def sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    return _bounds(text, start, end, _SENTENCE_BREAKS)


_ZH_QUESTION_TAIL = re.compile(r"(?:吗|么|嘛|不是|没有)[啊呀呢吧]?[\s.。~]*$")


def is_question(text: str, clause_end: int, clause_start: int) -> bool:
    """True when the clause ends with a question mark or a Chinese question particle."""
    if clause_end < len(text) and text[clause_end] == "?":
        return True
    return _ZH_QUESTION_TAIL.search(text, clause_start, clause_end) is not None


def blocked(pattern: re.Pattern[str] | None, text: str, start: int, end: int) -> bool:
    """Whether ``pattern`` occurs in ``text[start:end]`` (no slicing: pos/endpos)."""
    return pattern is not None and pattern.search(text, start, end) is not None


def scan(pattern: GatedPattern | None, text: str) -> list[Hit]:
    if pattern is None:
        return []
    return [Hit(m.lastgroup or "", m.start(), m.end()) for m in pattern.finditer(text)]
