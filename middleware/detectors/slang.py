"""Homophones, pinyin and slang that users write instead of the words the crisis patterns know.

"紫砂" / "zs" / "zisha" for 自杀, "想鼠" for 想死, "kms" / "unalive myself" / "sewerslide" for the
English, and leetspeak inside a word ("su1c1de", "k!ll"). The map gives a second view of the
normalised text (offsets still lead back to the caller's text) that the crisis patterns also read;
the models learn such spellings from the corpus directly. Look-alikes that are not slang are kept:
"紫砂壶" is a teapot.
"""

from __future__ import annotations

import re

from middleware.detectors.textnorm import Normalized, remap

_ZH = {
    "紫砂": "自杀", "紫杀": "自杀", "自鲨": "自杀", "自刹": "自杀", "子杀": "自杀", "自s": "自杀", "zs": "自杀",
    "zisha": "自杀", "zi sha": "自杀", "想鼠": "想死", "想s": "想死", "想si": "想死", "去鼠": "去死", "想4": "想死",
    "跳lou": "跳楼", "tiaolou": "跳楼", "tiao lou": "跳楼", "割wan": "割腕", "gewan": "割腕", "bxhl": "不想活了",
    "buxianghuole": "不想活了", "bu xiang huo le": "不想活了", "不想huo了": "不想活了", "轻sheng": "轻生",
    "qingsheng": "轻生", "xiangsi": "想死", "xiang si": "想死",
}
_EN = {
    "kms": "kill myself", "kys": "kill yourself", "unalive myself": "kill myself", "unalive": "kill myself",
    "sewerslide": "suicide", "sewer slide": "suicide", "self delete": "kill myself", "delete myself": "kill myself",
    "off myself": "kill myself", "end myself": "kill myself", "commit die": "kill myself", "s*icide": "suicide",
    "su*cide": "suicide", "k*ll myself": "kill myself",
}
_MAP = {**_ZH, **_EN}
_CJK_LED = sorted((k for k in _ZH if not k[0].isascii()), key=len, reverse=True)
_LATIN_LED = sorted([*(k for k in _ZH if k[0].isascii()), *_EN], key=len, reverse=True)
_PATTERN = re.compile(
    "(?:" + "|".join(re.escape(k) for k in _CJK_LED) + r")(?![a-z壶锅杯茶器色])"
    r"|(?<![a-z])(?:" + "|".join(re.escape(k) for k in _LATIN_LED) + r")(?![a-z])"
)
# Leetspeak: digits and symbols inside a Latin word ("su1c1de", "k1ll", "d!e"). The word ends with a letter or
# digit: a "!" or "$" after it is punctuation ("back!", "su1c1de!"), not a letter.
_LEET = re.compile(r"(?<![a-z0-9])(?=[a-z0-9!@$]*[a-z])"                               # a word with a letter
                   r"(?=[a-z0-9!@$]*[0-9!@$][a-z0-9!@$]*[a-z0-9](?![a-z0-9]))"      # and a digit or symbol
                   r"[a-z0-9!@$]{2,}[a-z0-9](?![a-z0-9])")
_LEET_MAP = str.maketrans("0134578!@$", "oieastbias")


def _repl(m: re.Match[str]) -> str:
    word = m.group()
    if word in _MAP:
        return _MAP[word]
    return word.translate(_LEET_MAP) if not word.isdigit() else word


_ANY = re.compile(_PATTERN.pattern + "|" + _LEET.pattern)
# Leetspeak needs a letter next to a digit or symbol: a cheap test before the look-aheads run.
_LEET_HINT = re.compile(r"[a-z][0-9!@$]|[0-9!@$][a-z]")


def slang_view(norm: Normalized) -> Normalized | None:
    """The text with slang mapped to plain words, or None when it has none (the common case)."""
    text = norm.text
    if _PATTERN.search(text) is None and (_LEET_HINT.search(text) is None or _LEET.search(text) is None):
        return None
    return remap(norm, _ANY, _repl)
