"""Text normalisation shared by every detector, with a map back to the original offsets.

Detectors match on a canonical form (NFKC, so full-width letters and punctuation become half-width;
lower case; traditional characters folded to simplified for the characters our patterns use;
zero-width characters dropped; whitespace runs collapsed to one space) so that one pattern covers
"我是真人", "我是真人" and "我是真人". Spans must still point into the text the caller holds,
so a ``Normalized`` keeps an index from canonical positions to original ones. The common case (text
already NFKC, single spaces, no zero-width characters) keeps a 1:1 alignment and builds no index.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Traditional -> simplified for the characters the built-in patterns use (and their neighbours in
# common phrases). A full OpenCC table would be 100x larger and buy nothing for these detectors.
_TRAD = (
    "們個實類機器開離別見說話線殺傷體藥樓遺書絕潰難過會讓給轉帳賬錢驗證碼銀聲紋臉識騙匯買賣購禮"
    "資幣號國級學媽歲題課寫業師廢滅麼嗎沒氣為這對還當從來時間長邊點經應該愛獨聽與覺結東錄後裡裏"
    "閉關喪裝絲網頁讀聯繫係顧護陸軟硬計劃準備連續動價値值錯誤鬧煩惱憂鬱悶鬆緊張嚇恐懼厭討斷"
    "刪攔攜夠讓擁險雙親戲劇場處傳訊息員頭鏡語音視頻電腦腦車掛單據獎領費詐騙僞偽認辦理請幫"
    "們壞兒紀爾歡樂慣將隨啓啟續陰陽淚盡屬於歸孤寂寞懷鐘鍾獄罰擔憑臺台灣產儲蓄積攢債務貸款帶"
    "謝謊騙話術碼"
)
_SIMP = (
    "们个实类机器开离别见说话线杀伤体药楼遗书绝溃难过会让给转账账钱验证码银声纹脸识骗汇买卖购礼"
    "资币号国级学妈岁题课写业师废灭么吗没气为这对还当从来时间长边点经应该爱独听与觉结东录后里里"
    "闭关丧装丝网页读联系系顾护陆软硬计划准备连续动价值值错误闹烦恼忧郁闷松紧张吓恐惧厌讨断"
    "删拦携够让拥险双亲戏剧场处传讯息员头镜语音视频电脑脑车挂单据奖领费诈骗伪伪认办理请帮"
    "们坏儿纪尔欢乐惯将随启启续阴阳泪尽属于归孤寂寞怀钟钟狱罚担凭台台湾产储蓄积攒债务贷款带"
    "谢谎骗话术码"
)
assert len(_TRAD) == len(_SIMP), "traditional/simplified tables must align"
# Curly quotes and primes to ASCII, so "I’m" and "I'm" are one pattern; NFKC leaves them alone.
_QUOTES_FROM = "\u2018\u2019\u201a\u201b\u2032\u00b4\u201c\u201d\u201e\u201f\u2033\u300c\u300d\u300e\u300f"
_QUOTES_TO = "\'\'\'\'\'\'\"\"\"\"\"\"\"\"\""
_FOLD = str.maketrans(_TRAD + _QUOTES_FROM, _SIMP + _QUOTES_TO)

# Format characters used to split words invisibly ("我是\u200b真人") are dropped.
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
_DROP = str.maketrans(dict.fromkeys(_ZERO_WIDTH))
# Whitespace other than space and newline becomes a space one-for-one (keeps the 1:1 fast path).
_WS_TO_SPACE = str.maketrans(dict.fromkeys("\t\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\u2028\u2029", " "))
# Anything that changes the length: runs of whitespace, leading/trailing whitespace, zero-width.
_NEEDS_INDEX = re.compile(r"[ \n][ \n]|[" + _ZERO_WIDTH + "]")
_WS_RUN = re.compile(r"\s+")


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


# str.translate looks every character up in a dict; a regex finds the rare characters to fold much
# faster, so translate only runs on text that has one.
_FOLDABLE = re.compile("[" + re.escape(_TRAD + _QUOTES_FROM) + "\t\r\x0b\x0c\x1c-\x1f\x85\u2028\u2029]")
_FOLD_ALL: dict[int, str | int | None] = {**_FOLD, **_WS_TO_SPACE}


def _fold(text: str) -> str:
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    text = text.lower()
    return text.translate(_FOLD_ALL) if _FOLDABLE.search(text) else text


_last: list[Normalized] = []   # the latest result: several detectors judge the same sentence in a row


def normalize(text: str) -> Normalized:
    """Return the canonical form of ``text`` used by all detectors."""
    if _last and _last[0].original is text:
        return _last[0]
    result = _normalize(text)
    _last[:] = [result]
    return result


def _normalize(text: str) -> Normalized:
    folded = _fold(text)
    if (
        len(folded) == len(text)
        and folded[:1] not in " \n"
        and folded[-1:] not in " \n"
        and not _NEEDS_INDEX.search(folded)
    ):
        return Normalized(text, folded)
    return _slow(text)


def _slow(text: str) -> Normalized:
    """Build the canonical text segment by segment, keeping an offset index."""
    parts: list[str] = []
    index: list[int] = []
    pos = 0
    for ws in _WS_RUN.finditer(text):
        _fold_segment(text, pos, ws.start(), parts, index)
        if parts and ws.end() < len(text):
            parts.append("\n" if "\n" in ws.group() else " ")
            index.append(ws.start())
        pos = ws.end()
    _fold_segment(text, pos, len(text), parts, index)
    return Normalized(text, "".join(parts), tuple(index))


def _fold_segment(text: str, start: int, end: int, parts: list[str], index: list[int]) -> None:
    if start >= end:
        return
    segment = text[start:end]
    folded = _fold(segment).translate(_DROP)
    if len(folded) == len(segment):
        parts.append(folded)
        index.extend(range(start, end))
        return
    # Length changed (NFKC expansion such as "…" -> "...", or dropped zero-width characters):
    # fold character by character so each output character knows its source.
    for offset, ch in enumerate(segment):
        out = _fold(ch).translate(_DROP)
        parts.append(out)
        index.extend([start + offset] * len(out))


def normalize_phrase(phrase: str) -> str:
    """Canonical form of a policy-supplied keyword, so it matches canonical text."""
    return normalize(phrase).text
