"""Text normalisation shared by every detector, with a map back to the original offsets.

Detectors and models read a canonical form, robust to the ways people (and attackers) vary text:

- NFKC (full-width letters and punctuation become ASCII, ligatures split), then lower case;
- every invisible character dropped: format characters (Unicode category Cf: zero-width space and
  joiners, U+2063 invisible separator, U+200E/U+200F marks, bidi embeddings and isolates
  U+202A-202E/U+2066-2069, tag characters U+E0000-E007F, soft hyphen), combining marks left after NFKC
  (Mn/Me: U+034F combining grapheme joiner, variation selectors U+FE00-FE0F/U+E0100-E01EF, stacked
  "zalgo" accents), and fillers that render as blanks (Hangul fillers, braille blank);
- confusable letters folded to the Latin letter they imitate (Cyrillic "а", Greek "ο", ...), from the
  Unicode confusables table shipped in ``confusable-homoglyphs`` (letters of other scripts that look
  like one ASCII letter or digit);
- traditional characters folded to simplified (OpenCC's character table, shipped in
  ``opencc-python-reimplemented``); curly quotes to ASCII;
- whitespace runs to one space (or one newline, which ends a sentence);
- spaced-out text collapsed: "r e a l", "k.i.l.l", "我 想 自 杀" and "我想 自 杀" become "real",
  "kill", "我想自杀" (a run of three or more single Latin letters, or any separator next to a single CJK
  character between two CJK characters).

Spans must still point into the text the caller holds, so a ``Normalized`` keeps an index from canonical
positions to original ones. Text already in canonical form (the common case) takes a no-copy path.
"""

from __future__ import annotations

import json
import re
import unicodedata
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from middleware.detectors import speedups

# Planes 0-1 and 14 hold every format character and combining mark (plane 2-3 are CJK ideographs only).
_DATA_LIMITS = ((0, 0x20000), (0xE0000, 0xE1000))


def _invisible() -> list[str]:
    """Characters that render as nothing (or as a blank) and so can split a word unseen."""
    out = []
    for lo, hi in _DATA_LIMITS:
        for cp in range(lo, hi):
            if unicodedata.category(chr(cp)) in ("Cf", "Mn", "Me"):
                out.append(chr(cp))
    # Letters and symbols that are drawn blank: Hangul fillers, braille blank, Khmer inherent vowels.
    out += ["\u115f", "\u1160", "\u3164", "\uffa0", "\u2800", "\u17b4", "\u17b5"]
    return out


def _traditional() -> dict[str, str]:
    """OpenCC's traditional -> simplified character table (first candidate of each entry)."""
    import opencc

    path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    table = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        trad, _, simp = line.partition("\t")
        if len(trad) == 1 and simp:
            first = simp.split()[0]
            if len(first) == 1 and first != trad:
                table[trad] = first
    return table


_CJK_BLOCKS = re.compile(r"[\u2e80-\u9fff\uac00-\ud7ff\uf900-\ufaff\U00020000-\U0003ffff]")


def _confusables() -> dict[str, str]:
    """Letters of other scripts that imitate one ASCII letter or digit, from Unicode's confusables."""
    import confusable_homoglyphs

    path = Path(confusable_homoglyphs.__file__).parent / "confusables.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    table = {}
    for char, glyphs in data.items():
        if len(char) != 1 or char.isascii() or _CJK_BLOCKS.match(char):
            continue
        if not unicodedata.category(char).startswith("L"):
            continue
        targets = {g["c"].lower() for g in glyphs if len(g["c"]) == 1 and g["c"].isascii() and g["c"].isalnum()}
        if len(targets) == 1:
            target = targets.pop()
            if target == "l" and unicodedata.category(char) == "Lu":
                target = "i"  # the skeleton of capital I is "l"; in running text it is an i
            table[char] = target
            table.setdefault(char.lower(), target)
    # Small capitals of Cyrillic that pass for Latin lower case in most fonts, whose Unicode prototype
    # is a non-ASCII letter (к -> ĸ): the usual homoglyph substitutions in "kill", "bot", "human".
    for char, target in {"к": "k", "м": "m", "в": "b", "н": "h", "т": "t", "г": "r", "ԁ": "d", "һ": "h",
                         "ғ": "f"}.items():
        table.setdefault(char, target)
    # Small capitals, as the "small caps" text generators write ("ᴋɪʟʟ ᴍʏsᴇʟꜰ"): each is named LATIN LETTER SMALL
    # CAPITAL X; NFKC leaves them alone and the confusables table lists only a few (ʏ, not ᴇ).
    for cp in (*range(0x0250, 0x02B0), *range(0x1D00, 0x1D80), *range(0xA730, 0xA800)):
        name = unicodedata.name(chr(cp), "")
        if name.startswith(_SMALL_CAPITAL) and len(name) == len(_SMALL_CAPITAL) + 1:
            table.setdefault(chr(cp), name[-1].lower())
    return table


_SMALL_CAPITAL = "LATIN LETTER SMALL CAPITAL "


_INVISIBLE = _invisible()
_TRAD = _traditional()
_CONFUSABLE = _confusables()
# Curly quotes and primes to ASCII, so "I’m" and "I'm" are one pattern; NFKC leaves them alone.
_QUOTES = dict(zip("\u2018\u2019\u201a\u201b\u2032\u00b4\u201c\u201d\u201e\u201f\u2033\u300c\u300d\u300e\u300f",
                   "\'\'\'\'\'\'\"\"\"\"\"\"\"\"\"", strict=True))
# Whitespace other than space and newline becomes a space one-for-one (keeps the 1:1 fast path).
_WS = "\t\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\u2028\u2029"
_DROP: dict[int, str | int | None] = dict.fromkeys(map(ord, _INVISIBLE))
# One table for str.translate (a dict lookup per character, a few µs per message): confusables (and
# the capitals of those listed in lower case only, so one pass before lower() suffices), traditional
# characters, quotes, odd whitespace, and the invisible characters, which it deletes.
_FOLD_ALL: dict[int, str | int | None] = {
    **{ord(k.upper()): v for k, v in _CONFUSABLE.items() if len(k.upper()) == 1 and not k.upper().isascii()},
    **{ord(k): v for k, v in _CONFUSABLE.items()},
    **{ord(k): v for k, v in _TRAD.items()},
    **{ord(k): v for k, v in _QUOTES.items()},
    **dict.fromkeys(map(ord, _WS), " "),
    # full-width ASCII and the ideographic space, exactly as NFKC maps them (the common case, cheaply)
    **{cp: unicodedata.normalize("NFKC", chr(cp)) for cp in range(0xFF01, 0xFF5F)},
    0x3000: " ",
    **_DROP,
}


def _compiled_fold() -> Callable[[str], str] | None:
    """``_fold.c``'s ``fold``, handed ``_FOLD_ALL``: ``text.translate(_FOLD_ALL)`` with a table read per character
    instead of a dict lookup (~3 µs less per sentence). None where it does not serve (``speedups.load``), or where
    the table maps a character to more than one (the compiled fold maps one to one or to nothing)."""
    module = speedups.load("_fold")
    if module is None:
        return None
    keys = sorted(_FOLD_ALL)
    values = [_FOLD_ALL[k] for k in keys]
    if not all(v is None or (isinstance(v, str) and len(v) == 1) for v in values):
        return None
    codes, targets = array("I", keys), array("i", (-1 if v is None else ord(cast(str, v)) for v in values))
    if codes.itemsize != 4 or targets.itemsize != 4:
        return None
    module.configure(codes.tobytes(), targets.tobytes())
    return cast(Callable[[str], str], module.fold)


_COMPILED_FOLD = _compiled_fold()
COMPILED_FOLD = _COMPILED_FOLD is not None   # whether it serves (`candor serve` says when not; the bench reports it)


def _translate(text: str) -> str:
    return text.translate(_FOLD_ALL)


# ``text.translate(_FOLD_ALL)``: compiled where it serves (``_fold.c``), else ``str.translate``; chosen once here
fold_chars: Callable[[str], str] = _translate if _COMPILED_FOLD is None else _COMPILED_FOLD


def _char_class(chars: Iterable[str]) -> str:
    """A compact regex character class (ranges) for a set of characters."""
    cps = sorted({ord(c) for c in chars})
    parts, i = [], 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        lo, hi = re.escape(chr(cps[i])), re.escape(chr(cps[j]))
        parts.append(lo if i == j else f"{lo}-{hi}")
        i = j + 1
    return "[" + "".join(parts) + "]"


# Whitespace that changes the length once collapsed (invisibles show as a shorter translation).
_NEEDS_INDEX = re.compile(r"[ \n][ \n]")
_WS_RUN = re.compile(r"\s+")

# Spaced-out text: separators inside a run of single Latin letters/digits ("r e a l", "k.i.l.l"), and
# a separator between two CJK characters when one side is a single character ("我 想 自 杀").
_CJK = "\u3400-\u9fff\uf900-\ufaff"
_SEP = r"[ .\-_*·•|/~+]{1,3}"
_SPACED = re.compile(
    rf"(?<![a-z0-9'])[a-z0-9](?:{_SEP}[a-z0-9]){{2,}}(?![a-z0-9'])"
    rf"|(?<=[{_CJK}]){_SEP}(?=[{_CJK}])"
)
# A cheap necessary condition, so the full pattern (look-behinds at every position) runs only on text that has
# "separator letter separator" or "separator CJK". It starts with a separator (a character class the engine scans
# for quickly): Chinese text, which seldom has one, is done in one scan. Where it passes, the full pattern alone
# costs less than with the stricter "letter SEP letter SEP letter" hint once run in front of it too (on 6,404
# check-set and bench sentences that pass it: 3.1 µs against 3.8).
_SPACED_HINT = re.compile(rf"{_SEP}(?:[a-z0-9]{_SEP}|[{_CJK}])")
_SEP_CHARS = re.compile(_SEP)
_LEADING_WORD = re.compile(r"[ai] +[a-z0-9]")
_CJK_CHAR = re.compile(f"[{_CJK}]")


@dataclass(frozen=True, slots=True)
class Normalized:
    """Canonical text plus the way back to the caller's offsets.

    ``index[i]`` is the original offset of canonical character ``i``; ``None`` means the canonical
    text is aligned 1:1 with the original. Newlines survive normalisation (as a single "\\n" for a
    whitespace run containing one) because they end sentences; other runs become one space.
    """

    original: str
    text: str
    index: tuple[int, ...] | None = None

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a canonical span ``[start, end)`` to the original text."""
        if self.index is None:
            return start, end
        if start >= end:
            pos = self.index[start] if start < len(self.index) else len(self.original)
            return pos, pos
        return self.index[start], self.index[end - 1] + 1


def _fold(text: str) -> str:
    # Confusables fold before lower case: Greek "Υ" imitates "Y", its lower case "υ" imitates "u".
    text = fold_chars(text)
    if not unicodedata.is_normalized("NFKC", text):
        text = fold_chars(unicodedata.normalize("NFKC", text))
    return text.lower()


_last: list[Normalized] = []   # the latest result: several detectors judge the same sentence in a row


def normalize(text: str) -> Normalized:
    """Return the canonical form of ``text`` used by all detectors."""
    if _last and _last[0].original is text:
        return _last[0]
    result = _normalize(text)
    if _SPACED_HINT.search(result.text) and _SPACED.search(result.text):
        spaced = result
        result = remap(result, _SPACED, lambda m: _collapse(m, spaced))
    _last[:] = [result]
    return result


def _collapse(m: re.Match[str], norm: Normalized) -> str:
    run = m.group()
    if _CJK_CHAR.match(m.string, m.start() - 1) is None:  # a run of single Latin letters/digits
        return _join_letters(m, norm)
    text, s, e = m.string, m.start(), m.end()
    left_single = s < 2 or _CJK_CHAR.match(text, s - 2) is None
    right_single = e + 1 >= len(text) or _CJK_CHAR.match(text, e + 1) is None
    return "" if left_single or right_single else run


def _join_letters(m: re.Match[str], norm: Normalized) -> str:
    """Join "r e a l" into "real", keeping word breaks the writer marked: a bare space among marks
    ("k-i-l-l m-y-s-e-l-f") or a wider gap in the original text ("k i l l   m y s e l f")."""
    seps = list(_SEP_CHARS.finditer(m.string, m.start(), m.end()))
    index = norm.index

    def gap(sep: re.Match[str]) -> int:  # characters between the two letters in the caller's text
        a, b = sep.start() - 1, sep.end()
        return (index[b] - index[a] if index is not None else b - a) - 1

    marked = any(sep.group().strip() for sep in seps)
    narrow = min(gap(sep) for sep in seps)
    out, pos = [], m.start()
    for sep in seps:
        out.append(m.string[pos : sep.start()])
        if (marked and not sep.group().strip()) or (not marked and gap(sep) > narrow):
            out.append(" ")
        pos = sep.end()
    out.append(m.string[pos : m.end()])
    joined = "".join(out)
    # "i'm a r e a l person": a leading "a" or "i" is more often the article or pronoun
    if _LEADING_WORD.match(m.group()) and len(joined) > 3 and not marked and " " not in joined:
        return joined[0] + " " + joined[1:]
    return joined


def _normalize(text: str) -> Normalized:
    core = text.strip()
    if len(core) == len(text):
        folded = _folded_in_place(text)
        return _slow(text) if folded is None else Normalized(text, folded)
    # Whitespace around the text (a streamed sentence's leading space) is dropped: where the rest folds in
    # place, the way back is a shift, not the character-by-character rebuild of _slow.
    folded = _folded_in_place(core) if core else None
    if folded is None:
        return _slow(text)
    lead = len(text) - len(text.lstrip())
    return Normalized(text, folded, tuple(range(lead, lead + len(folded))))


def _folded_in_place(text: str) -> str | None:
    """The canonical text when every character folds to exactly one (offsets unchanged), else None."""
    translated = fold_chars(text)  # full-width forms included, so most text is NFKC already
    if len(translated) != len(text):
        return None  # an invisible character was deleted
    if not unicodedata.is_normalized("NFKC", translated):
        nfkc = unicodedata.normalize("NFKC", translated)
        if len(nfkc) != len(text):
            return None  # an expansion ("…" -> "...", "ﬁ" -> "fi"); compositions need a mark,
        translated = fold_chars(nfkc)  # which the translation deleted above
    folded = translated.lower()
    if (
        len(folded) == len(text)  # no lower case longer than its capital ("İ")
        and folded[:1] not in " \n"
        and folded[-1:] not in " \n"
        and not _NEEDS_INDEX.search(folded)
    ):
        return folded
    return None


def _slow(text: str) -> Normalized:
    """Build the canonical text segment by segment, keeping an offset index."""
    # Invisible characters go first, so that "a \u200b b" is one space, not two.
    kept = ([i for i, ch in enumerate(text) if ord(ch) not in _DROP]
            if len(text.translate(_DROP)) != len(text) else None)
    visible = text if kept is None else "".join(text[i] for i in kept)
    parts: list[str] = []
    index: list[int] = []
    pos = 0
    for ws in _WS_RUN.finditer(visible):
        _fold_segment(visible, pos, ws.start(), parts, index)
        if parts and ws.end() < len(visible):
            parts.append("\n" if "\n" in ws.group() else " ")
            index.append(ws.start())
        pos = ws.end()
    _fold_segment(visible, pos, len(visible), parts, index)
    if kept is not None:
        index = [kept[i] for i in index]
    return Normalized(text, "".join(parts), tuple(index))


def _fold_segment(text: str, start: int, end: int, parts: list[str], index: list[int]) -> None:
    if start >= end:
        return
    segment = text[start:end]
    folded = _fold(segment)
    if len(folded) == len(segment):
        parts.append(folded)
        index.extend(range(start, end))
        return
    # Length changed (NFKC expansion such as "…" -> "...", or a mark left by NFKC):
    # fold character by character so each output character knows its source.
    for offset, ch in enumerate(segment):
        out = _fold(ch)
        parts.append(out)
        index.extend([start + offset] * len(out))


def remap(norm: Normalized, pattern: re.Pattern[str], repl: Callable[[re.Match[str]], str]) -> Normalized:
    """Replace each match of ``pattern`` in the canonical text by ``repl(match)``, keeping the way back
    to the original offsets (a replacement's characters map proportionally onto the matched ones)."""
    src = norm.text
    old = norm.index if norm.index is not None else range(len(src))
    parts: list[str] = []
    index: list[int] = []
    pos = 0
    for m in pattern.finditer(src):
        out = repl(m)
        s, e = m.start(), m.end()
        if out == m.group():
            continue
        parts.append(src[pos:s])
        index.extend(old[pos:s])
        parts.append(out)
        n = len(out)
        if n:
            width = e - s
            index.extend(old[s + min(width - 1, (i * width) // n)] for i in range(n - 1))
            index.append(old[e - 1] if width else old[s])
        pos = e
    if not parts:
        return norm
    parts.append(src[pos:])
    index.extend(old[pos:])
    return Normalized(norm.original, "".join(parts), tuple(index))


def normalize_phrase(phrase: str) -> str:
    """Canonical form of a policy-supplied keyword, so it matches canonical text."""
    return normalize(phrase).text
