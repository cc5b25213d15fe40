"""A literal prefilter derived from a regex: skip the regex when the text cannot match.

Most messages hit no rule, and Python's backtracking engine pays for every alternative of a large
combined pattern at every position. Every match of a rule, though, must contain certain literal
strings ("myself" or "suicide" or ...). ``required_factors`` computes such a set from the parsed
pattern (the classic "required factors" prefilter of RE2 and code-search engines): a literal run
in a sequence is required; an alternation requires one of its branches' factors; an optional part
requires nothing. If no factor occurs in the text (plain substring tests, in C), the regex cannot
match and is not run. The set is computed from the pattern itself, so it never drifts from the
rules; a pattern with an unconstrained alternative gets no prefilter and always runs.

Uses ``re._parser``, CPython's own regex parser (stable across 3.11-3.13).
"""

from __future__ import annotations

import importlib
import re
from typing import Any

# Private CPython modules without stubs: loaded by name so type checkers treat them as Any.
c: Any = importlib.import_module("re._constants")
_parser: Any = importlib.import_module("re._parser")

Factors = frozenset[str]


def required_factors(pattern: str) -> Factors | None:
    """Strings of which every match contains at least one; ``None`` when no such set exists."""
    factors = _sequence(_parser.parse(pattern))
    if factors is None:
        return None
    # "kill" makes "kill myself" redundant: keep only the minimal strings.
    ordered = sorted(factors, key=len)
    kept: list[str] = []
    for f in ordered:
        if not any(k in f for k in kept):
            kept.append(f)
    return frozenset(kept)


def _score(factors: Factors) -> tuple[int, int]:
    # Longer shortest string = more selective; fewer strings = cheaper to test.
    return min(len(f) for f in factors), -len(factors)


def _sequence(items: Any) -> Factors | None:
    candidates: list[Factors] = []
    run: list[str] = []
    for op, av in items:
        if op is c.LITERAL:
            run.append(chr(av))
            continue
        if run:
            candidates.append(frozenset({"".join(run)}))
            run = []
        found = _element(op, av)
        if found:
            candidates.append(found)
    if run:
        candidates.append(frozenset({"".join(run)}))
    return max(candidates, key=_score) if candidates else None


def _element(op: Any, av: Any) -> Factors | None:
    if op is c.SUBPATTERN:
        return _sequence(av[-1])
    if op is c.ATOMIC_GROUP:
        return _sequence(av)
    if op is c.BRANCH:
        union: set[str] = set()
        for branch in av[1]:
            sub = _sequence(branch)
            if sub is None:
                return None
            union |= sub
        return frozenset(union)
    if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
        low, _, sub = av
        return _sequence(sub) if low >= 1 else None
    if op is c.IN:
        chars = [chr(a) for o, a in av if o is c.LITERAL]
        return frozenset(chars) if chars and len(chars) == len(av) else None
    return None  # assertions, anchors, classes, any-char: nothing literal is required


class GatedPattern:
    """A compiled pattern plus its prefilter; ``finditer`` returns nothing when no factor occurs."""

    __slots__ = ("_gate", "factors", "pattern")

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.factors: tuple[str, ...] | None = None
        self._gate: re.Pattern[str] | None = None
        found = required_factors(pattern.pattern)
        if found is not None:
            self.factors = tuple(sorted(found))
            # one C-level search for all factors (single characters become one character class), not a
            # Python loop of substring tests: the gate costs ~1 µs whatever the number of factors
            longest_first = sorted(found, key=len, reverse=True)
            self._gate = re.compile("|".join(re.escape(f) for f in longest_first), pattern.flags & re.IGNORECASE)

    def may_match(self, text: str) -> bool:
        return self._gate is None or self._gate.search(text) is not None

    def finditer(self, text: str) -> list[re.Match[str]]:
        if not self.may_match(text):
            return []
        return list(self.pattern.finditer(text))
