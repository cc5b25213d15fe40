"""Sentence boundaries for guarded streaming, and sentence-level rewriting.

Output rules judge whole sentences, so in streaming the proxy holds text back only until the
current sentence ends, then checks and releases it. ``SentenceBuffer.feed`` returns the sentences
completed by a delta; what it holds back is only the unfinished sentence. Boundaries:

- Chinese: after a run of 。！？；… (and any ASCII !? mixed in), plus closing quotes or brackets;
  after a newline. The run is complete once the next character arrives.
- English: after a run of . ! ? plus closers, when followed by whitespace or a CJK character. A
  period is not a boundary after an abbreviation ("e.g.", "Mr.", "U.S.", a single capital
  initial) or inside a number ("3.5": the next character is not whitespace).

At the end of the stream ``flush()`` returns the rest. Feeding costs O(len(delta)) (plus a fixed
16-character look-back); cutting sentences costs their length once. Concatenating everything
``feed`` and ``flush`` return gives back exactly the input. Whitespace between sentences starts the
next sentence; a whitespace-only piece is never emitted on its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from middleware.detectors.base import HAS_CJK, Detector

_CJK = "\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af"
_CLOSERS = "\"'\u201d\u2019\u300d\u300f\uff09)\\]\u300b\u3011"
_BOUNDARY = re.compile(
    rf"[。！？；…][。！？；…!?]*[{_CLOSERS}]*(?=[\s\S])"
    rf"|\n(?=[\s\S])"
    rf"|[.!?][.!?。！？]*[{_CLOSERS}]*(?=[\s{_CJK}])"
)
_ABBREVIATION = re.compile(
    r"(?:^|[\s(\"'])(?:mr|mrs|ms|dr|prof|sr|jr|st|vs|e\.g|i\.e|a\.m|p\.m|u\.s|u\.k|fig|approx|inc|ltd|cf|dept|mt|lt"
    r"|sgt|rev)$",
    re.IGNORECASE,
)
# A single capital letter is an initial ("J. K. Rowling"), except the pronoun "I".
_INITIAL = re.compile(r"(?:^|[\s(])[A-HJ-Z]$")
_LOOKBACK = 16


class SentenceBuffer:
    """Incremental sentence splitter for one stream. Not thread-safe: one buffer per stream."""

    __slots__ = ("_ctx", "_parts", "_pending_start", "_total")

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._ctx = ""  # the last few characters seen, for look-behind across deltas
        self._total = 0  # characters fed so far
        self._pending_start = 0  # absolute offset of the first unreleased character

    @property
    def pending(self) -> str:
        """Text held back (the unfinished sentence)."""
        return "".join(self._parts)

    def feed(self, delta: str) -> list[str]:
        """Add a delta; return the sentences it completed, in order."""
        if not delta:
            return []
        window = self._ctx + delta
        base = self._total - len(self._ctx)
        self._parts.append(delta)
        self._total += len(delta)
        self._ctx = window[-_LOOKBACK:]
        cuts: list[int] = []
        for m in _BOUNDARY.finditer(window):
            end = base + m.end()
            if end <= self._pending_start or (cuts and end <= cuts[-1]):
                continue
            if window[m.start()] == "." and _is_abbreviation(window, m.start()):
                continue
            cuts.append(end)
        if not cuts:
            return []
        return self._release(cuts)

    def flush(self) -> str:
        """End of stream: return whatever is held back and reset."""
        rest = "".join(self._parts)
        self._parts.clear()
        self._ctx = ""
        self._total = 0
        self._pending_start = 0
        return rest

    def _release(self, cuts: list[int]) -> list[str]:
        text = "".join(self._parts)
        out: list[str] = []
        carry = ""
        pos = 0
        for cut in cuts:
            piece = carry + text[pos : cut - self._pending_start]
            pos = cut - self._pending_start
            if piece.strip():
                out.append(piece)
                carry = ""
            else:
                carry = piece
        rest = carry + text[pos:]
        self._parts = [rest] if rest else []
        self._pending_start = self._total - len(rest)
        return out


def _is_abbreviation(window: str, dot: int) -> bool:
    before = window[max(0, dot - 8) : dot]
    return _ABBREVIATION.search(before) is not None or _INITIAL.search(before) is not None


def split_sentences(text: str) -> list[str]:
    """Split a whole text exactly as the streaming buffer would."""
    buf = SentenceBuffer()
    out = buf.feed(text)
    tail = buf.flush()
    if tail:
        out.append(tail)
    return out


def sentence_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    pos = 0
    for sentence in split_sentences(text):
        spans.append((pos, pos + len(sentence)))
        pos += len(sentence)
    return spans


Replacement = str | Callable[[str], str]


def by_script(zh: str, en: str) -> Callable[[str], str]:
    """A replacement that answers in the script of the sentence it replaces."""

    def pick(sentence: str) -> str:
        return zh if HAS_CJK.search(sentence) else en

    return pick


def rewrite_claims(text: str, detector: Detector, replacement: Replacement) -> tuple[str, bool]:
    """Replace each sentence the detector flags with ``replacement``; consecutive flagged sentences
    become one replacement. Whitespace around them is kept. Returns ``(new_text, changed)``."""
    found = detector.detect(text)
    if not found.matched:
        return text, False
    out: list[str] = []
    run: list[tuple[int, int]] = []
    for start, end in sentence_spans(text):
        if any(a < end and b > start for a, b in found.spans):
            # A change of script starts a new run, so a per-language replacement fits each run.
            if run and callable(replacement) and _is_cjk(text, run[-1]) != _is_cjk(text, (start, end)):
                out.append(_replace_run(text, run, replacement))
                run = []
            run.append((start, end))
            continue
        if run:
            out.append(_replace_run(text, run, replacement))
            run = []
        out.append(text[start:end])
    if run:
        out.append(_replace_run(text, run, replacement))
    return "".join(out), True


def _is_cjk(text: str, span: tuple[int, int]) -> bool:
    return HAS_CJK.search(text, span[0], span[1]) is not None


def _replace_run(text: str, run: list[tuple[int, int]], replacement: Replacement) -> str:
    chunk = text[run[0][0] : run[-1][1]]
    body = chunk.strip()
    lead = chunk[: len(chunk) - len(chunk.lstrip())]
    trail = chunk[len(chunk.rstrip()) :]
    new = replacement(body) if callable(replacement) else replacement
    return lead + new + trail
