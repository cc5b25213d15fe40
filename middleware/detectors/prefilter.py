"""A literal prefilter derived from a regex: skip the regex when the text cannot match.

Most messages hit no rule, and Python's backtracking engine pays for every alternative of a large
combined pattern at every position. Every match of a rule, though, must contain certain literal
strings ("myself" or "suicide" or ...). ``required_factors`` computes such a set from the parsed
pattern (the classic "required factors" prefilter of RE2 and code-search engines): a literal run
in a sequence is required; an alternation requires one of its branches' factors; an optional part
requires nothing. If no factor occurs in the text (plain substring tests, in C), the regex cannot
match and is not run. The set is computed from the pattern itself, so it never drifts from the
rules; a pattern with an unconstrained alternative gets no prefilter and always runs.

A factor may carry the pattern's own zero-width assertions after its first letter, where they are simple (a
lookaround of one character class, a word boundary): ``(?<![a-z])av(?![a-z])`` is gated on ``av(?![a-z])``, not
on every "have" and "travel". Each such assertion is one private character in the factor (``_token``) and is
written back as itself in the gate; a match of the pattern satisfies it at the same place in the same text, so
the gate stays a necessary condition.

Uses ``re._parser``, CPython's own regex parser (stable across 3.11-3.13).
"""

from __future__ import annotations

import functools
import importlib
import json
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Private CPython modules without stubs: loaded by name so type checkers treat them as Any.
c: Any = importlib.import_module("re._constants")
_parser: Any = importlib.import_module("re._parser")

Factors = frozenset[str]


def required_factors(pattern: str) -> Factors | None:
    """Strings of which every match contains at least one (with its simple assertions as ``_token`` characters; see
    ``describe``); ``None`` when no such set exists."""
    factors = _sequence(_parser.parse(pattern))
    if factors is None:
        return None
    # A factor never starts with an assertion: the engine skips the text's positions by the gate's first characters,
    # which one leading lookbehind hides for the whole gate (a gate of words then cost twice as much); what follows the
    # lookbehind is still required, its lookaheads keep "yo" out of "you" and "av" out of "have".
    factors = frozenset(f.lstrip("".join(_ASSERTIONS)) for f in factors)
    # "kill" makes "kill myself" redundant: keep only the minimal strings.
    ordered = sorted(factors, key=len)
    kept: list[str] = []
    for f in ordered:
        if not any(k in f for k in kept):
            kept.append(f)
    return frozenset(kept)


def _cost(factors: Factors) -> tuple[int, int, int]:
    """How often the set lets ordinary text through, estimated on ``_sample``: a rule needing "我" and "岁" is gated
    on "岁", which few messages hold, not on "我", which half of them do. Every candidate set is a necessary
    condition, so the choice changes what the gate costs, never what the family matches. Ties (strings the sample
    lacks): the longer shortest string, then fewer strings (cheaper to test)."""
    sample = _sample()
    return sum(_occurrences(sample, f) for f in factors), -min(len(f) for f in factors), len(factors)


# Ordinary chat the gates are ranked on: the corpus' check sets of everyday user messages and companion replies
# (``corpus/everyday.check.jsonl``, ``replies.check.jsonl``), normalised, one per line. Read once, at the first
# family's compilation; only counted in, never judged.
_SAMPLE_FILES = ("everyday.check.jsonl", "replies.check.jsonl")


@functools.cache
def _sample() -> str:
    from middleware.detectors.textnorm import normalize

    texts: list[str] = []
    for name in _SAMPLE_FILES:
        path = Path(__file__).parent / "corpus" / name
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                text = json.loads(line).get("text") if line.strip() else None
                if isinstance(text, str):
                    texts.append(normalize(text).text)
    return "\n".join(texts)


@functools.lru_cache(maxsize=8192)
def _occurrences(sample: str, string: str) -> int:
    if any(ch in _ASSERTIONS for ch in string):
        return len(re.findall(_regex(string), sample))
    return sample.count(string)


# --- simple zero-width assertions inside factors ---------------------------------------------------------------

# token character -> the assertion's regex source; tokens are private-use characters of plane 15, one per distinct
# assertion, made at compile time
_ASSERTIONS: dict[str, str] = {}
_TOKENS: dict[str, str] = {}
_TOKEN_BASE = 0xF0000

_CATEGORIES = {"CATEGORY_DIGIT": r"\d", "CATEGORY_NOT_DIGIT": r"\D", "CATEGORY_SPACE": r"\s",
               "CATEGORY_NOT_SPACE": r"\S", "CATEGORY_WORD": r"\w", "CATEGORY_NOT_WORD": r"\W"}


def _token(source: str) -> str:
    token = _TOKENS.get(source)
    if token is None:
        token = _TOKENS[source] = chr(_TOKEN_BASE + len(_TOKENS))
        _ASSERTIONS[token] = source
    return token


def _class_source(op: Any, av: Any) -> str | None:
    """The regex source of one character (a literal or a class), or None where it is not that simple."""
    if op is c.LITERAL:
        return re.escape(chr(av))
    if op is not c.IN:
        return None
    parts = []
    for o, a in av:
        if o is c.NEGATE:
            parts.append("^")
        elif o is c.LITERAL:
            parts.append(_class_char(chr(a)))
        elif o is c.RANGE:
            parts.append(f"{_class_char(chr(a[0]))}-{_class_char(chr(a[1]))}")
        elif o is c.CATEGORY and str(a) in _CATEGORIES:
            parts.append(_CATEGORIES[str(a)])
        else:
            return None
    return "[" + "".join(parts) + "]"


def _class_char(ch: str) -> str:
    return "\\" + ch if ch in "\\]^-[" else ch


def _assertion(op: Any, av: Any) -> str | None:
    """The source of a simple zero-width assertion (a lookaround of one character, ``\\b``, ``\\B``); else None."""
    if op is c.AT:
        return {"AT_BOUNDARY": r"\b", "AT_NON_BOUNDARY": r"\B"}.get(str(av))
    direction, sub = av
    if len(sub) != 1:
        return None
    one = _class_source(*sub[0])
    if one is None:
        return None
    kind = ("=" if op is c.ASSERT else "!") if direction == 1 else ("<=" if op is c.ASSERT else "<!")
    return f"(?{kind}{one})"


def _atom(ch: str) -> str:
    """One character of a factor as regex: a letter escaped, an assertion token as its assertion."""
    return _ASSERTIONS.get(ch) or re.escape(ch)


def _regex(factor: str) -> str:
    return "".join(map(_atom, factor))


def describe(factor: str) -> str:
    """A factor for people (and tests): its assertions written out, ``(?<![a-z])av(?![a-z])``."""
    return "".join(_ASSERTIONS.get(ch, ch) for ch in factor)


def _zero_width(factor: str) -> bool:
    return all(ch in _ASSERTIONS for ch in factor)


# An exact set (every string a part of the pattern can match) is kept while it holds at most this many strings:
# "y(?:o|/o)" is {"yo", "y/o"}, not "y" and then "o" or "/o" (CPython's parser factors common prefixes out of
# alternations, so without exact sets many rules were gated on one or two letters that most text contains).
# Larger sets are more selective still but make the gate's own search slower: on the corpus' texts the gates
# let 20 % of (text, family) pairs through before, 9 % at 16 and 7 % at 64, where the bench's engine CPU per
# request was lower at 16 than at 64.
_EXACT_MAX = 16


def _sequence(items: Any) -> Factors | None:
    """Strings of which every match of the sequence contains one. Consecutive parts that match finite, small
    sets of strings (literals, alternations of literals, optional literals, zero-width assertions) are
    multiplied out into one set of longer strings, as RE2's prefilter does; the most selective set wins."""
    candidates: list[Factors] = []
    run: Factors = frozenset({""})
    for op, av in items:
        exact = _exact(op, av)
        if exact is not None:
            joined = _cross(run, exact)
            if joined is not None:
                run = joined
            else:   # too many strings: what the run has so far is one candidate, a new run starts here
                candidates.append(run)
                run = exact
            continue
        candidates.append(run)
        run = frozenset({""})
        found = _element(op, av)
        if found:
            candidates.append(found)
    candidates.append(run)
    # a set holding "" (or a string of assertions alone) requires nothing
    required = [f for f in candidates if f and not any(_zero_width(x) for x in f)]
    return min(required, key=_cost) if required else None


def _cross(left: Factors, right: Factors) -> Factors | None:
    if len(left) * len(right) > _EXACT_MAX:
        return None
    return frozenset(a + b for a in left for b in right)


def _exact(op: Any, av: Any) -> Factors | None:
    """Every string the element can match, when that is a small finite set; None otherwise."""
    if op is c.LITERAL:
        return frozenset({chr(av)})
    if op in (c.ASSERT, c.ASSERT_NOT, c.AT):
        # zero-width: what is around it is contiguous in the match; a simple one goes into the factor as a token
        source = _assertion(op, av)
        return frozenset({_token(source) if source is not None else ""})
    if op is c.SUBPATTERN:
        return _exact_sequence(av[-1])
    if op is c.BRANCH:
        union: set[str] = set()
        for branch in av[1]:
            sub = _exact_sequence(branch)
            if sub is None:
                return None
            union |= sub
        return frozenset(union) if len(union) <= _EXACT_MAX else None
    if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
        low, high, sub = av
        if (low, high) == (1, 1):
            return _exact_sequence(sub)
        if (low, high) == (0, 1):
            inner = _exact_sequence(sub)
            return None if inner is None else inner | {""}
        return None
    if op is c.IN:
        chars = [chr(a) for o, a in av if o is c.LITERAL]
        return frozenset(chars) if chars and len(chars) == len(av) else None
    return None


def _exact_sequence(items: Any) -> Factors | None:
    out: Factors | None = frozenset({""})
    for op, av in items:
        exact = _exact(op, av)
        if exact is None or out is None:
            return None
        out = _cross(out, exact)
    return out


def _union(branches: Any, each: Callable[[Any], frozenset[str] | None]) -> frozenset[str] | None:
    """What any of the alternatives needs: the union, or None when one of them needs nothing."""
    union: set[str] = set()
    for branch in branches:
        sub = each(branch)
        if sub is None:
            return None
        union |= sub
    return frozenset(union)


def _element(op: Any, av: Any) -> Factors | None:
    if op is c.SUBPATTERN:
        return _sequence(av[-1])
    if op is c.ATOMIC_GROUP:
        return _sequence(av)
    if op is c.BRANCH:
        return _union(av[1], _sequence)
    if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
        low, _, sub = av
        return _sequence(sub) if low >= 1 else None
    if op is c.IN:
        chars = [chr(a) for o, a in av if o is c.LITERAL]
        return frozenset(chars) if chars and len(chars) == len(av) else None
    return None  # assertions, anchors, classes, any-char: nothing literal is required


def trie_regex(words: frozenset[str] | set[str]) -> str:
    """An alternation of literal ``words`` as a trie, longest match first within each branch."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        ends = "" in node
        branches = [_atom(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if ends:   # a word ends here: the rest is optional (any factor found is enough)
            return ""
        return body

    return emit(trie)


def first_chars(pattern: str) -> frozenset[str] | None:
    """The characters every match of ``pattern`` can start with, or None when that is not a small
    literal set (a class, any-char, an optional start...)."""
    try:
        return _first(_parser.parse(pattern))
    except (TypeError, ValueError, IndexError):
        return None


def _first(items: Any) -> frozenset[str] | None:
    """First characters of a sequence: an optional element adds its own to those of what follows."""
    found: set[str] = set()
    for op, av in items:
        if op in (c.ASSERT, c.ASSERT_NOT, c.AT):
            continue   # zero-width: look at what follows
        optional = op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT) and av[0] == 0
        sub = _first_of(op, av)
        if sub is None:
            return None
        found |= sub
        if not optional:
            return frozenset(found)
    return None   # the sequence can match empty: no constraint on the first character


def _first_of(op: Any, av: Any) -> frozenset[str] | None:
    if op is c.LITERAL:
        return frozenset(chr(av))
    if op is c.SUBPATTERN:
        return _first(av[-1])
    if op is c.ATOMIC_GROUP:
        return _first(av)
    if op is c.BRANCH:
        return _union(av[1], _first)
    if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
        return _first(av[2])
    if op is c.IN:
        chars: set[str] = set()
        for o, a in av:
            if o is c.LITERAL:
                chars.add(chr(a))
            elif o is c.RANGE and a[1] - a[0] < 512:
                chars.update(chr(x) for x in range(a[0], a[1] + 1))
            elif o is c.CATEGORY and a is c.CATEGORY_DIGIT:
                chars |= _digits()
            else:
                return None
        return frozenset(chars)
    return None


@functools.cache
def _digits() -> frozenset[str]:
    """What ``\\d`` matches in a str pattern: every Unicode decimal digit, not only 0-9."""
    return frozenset(chr(x) for x in range(0x30000) if unicodedata.category(chr(x)) == "Nd")


class GatedPattern:
    """A compiled pattern plus its prefilter; ``finditer`` returns nothing when no factor occurs.

    Built from named rules (``combine``), each rule also gets its own prefilter: where the family's gate lets a
    text through, only the rules whose factors occur in it are run, as one alternation of those rules (compiled
    once per set of rules and kept). The matches are the same: a rule none of whose required strings occurs in the
    text cannot match at any position, so leaving it out of the alternation changes no match and no group."""

    __slots__ = ("_gate", "_rules", "_subsets", "factors", "pattern")

    def __init__(self, pattern: re.Pattern[str], rules: tuple[tuple[str, str], ...] = ()) -> None:
        self.pattern = _with_first_chars(pattern)
        self.factors: tuple[str, ...] | None = None
        self._gate: re.Pattern[str] | None = None
        found = required_factors(pattern.pattern)
        if found is not None:
            self.factors = tuple(sorted(found))
            # one C-level search for all factors, written as a trie (``ab|ac`` -> ``a(?:b|c)``) so the
            # engine branches on one character at a time: ~1-3 µs per message for a hundred factors
            self._gate = _gate(found, pattern.flags)
        # (the rule as a named group, its own gate or None) per rule, when there are rules to leave out
        self._rules: tuple[tuple[str, re.Pattern[str] | None], ...] = ()
        if len(rules) > 1:
            gated = [(f"(?P<{name}>{body})", _gate(f, pattern.flags) if (f := required_factors(body)) else None)
                     for name, body in rules]
            if any(g is not None for _, g in gated):
                self._rules = tuple(gated)
        self._subsets: dict[tuple[int, ...], re.Pattern[str]] = {}

    def may_match(self, text: str) -> bool:
        return self._gate is None or self._gate.search(text) is not None

    def search(self, text: str) -> re.Match[str] | None:
        """The first match, as ``pattern.search``; the regex runs only where the gate lets the text through."""
        return self.pattern.search(text) if self.may_match(text) else None

    def finditer(self, text: str) -> list[re.Match[str]]:
        if self._gate is not None and self._gate.search(text) is None:
            return []
        if not self._rules:
            return list(self.pattern.finditer(text))
        key = tuple(i for i, (_, gate) in enumerate(self._rules) if gate is None or gate.search(text) is not None)
        if not key:
            return []
        pattern = self._subsets.get(key)
        if pattern is None:
            pattern = self._subset(key)
        return list(pattern.finditer(text))

    def _subset(self, key: tuple[int, ...]) -> re.Pattern[str]:
        """The alternation of the rules ``key`` names, in the family's order (the full pattern for every rule)."""
        if len(key) == len(self._rules):
            return self.pattern
        pattern = _with_first_chars(re.compile("|".join(self._rules[i][0] for i in key), self.pattern.flags))
        if len(self._subsets) < _SUBSETS_MAX:   # a family has few sets of rules that occur together in practice
            self._subsets[key] = pattern
        return pattern


# Compiled rule sets kept per family: beyond this many (text that brings ever new sets of rules) a set is compiled
# each time it is needed (the re module's own cache still holds the most recent ones).
_SUBSETS_MAX = 256


def _gate(factors: Factors, flags: int) -> re.Pattern[str]:
    # the pattern's case and ASCII flags: its assertions and classes mean in the gate what they mean in it
    return re.compile(trie_regex(factors), flags & (re.IGNORECASE | re.ASCII))


def _with_first_chars(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """``pattern``, behind a lookahead for the characters every match starts with (when that is a small set): the
    engine skips the other positions with one set test instead of trying every rule there."""
    first = first_chars(pattern.pattern)
    if not first:
        return pattern
    cls = "".join(re.escape(ch) for ch in sorted(first))
    return re.compile(f"(?=[{cls}])(?:{pattern.pattern})", pattern.flags)
