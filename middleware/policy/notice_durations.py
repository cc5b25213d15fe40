"""Notice texts that follow their settings.

A reminder's text may show its interval with ``{interval}`` (spelled for the reader: "2小时", "2 hours"),
so the words cannot drift from ``remind_every``. A text that states a duration of its own ("两小时",
"2 hours") is compared with the setting, and ``candor policy check`` warns when they differ: a notice
saying "two hours" while reminders come every three misinforms the user (ANTH-TIME-1).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from middleware.policy.model import Policy, Text

PLACEHOLDER = "{interval}"
_ZH_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_EN_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
             "ten": 10, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty-five": 45, "ninety": 90,
             "an": 1, "a": 1, "half an": 0.5}
_ZH = re.compile(r"(\d+(?:\.\d+)?|[零一二两三四五六七八九十]+|半)\s*(?:个)?\s*(小时|钟头|分钟)")
_EN = re.compile(r"\b(\d+(?:\.\d+)?|" + "|".join(sorted(map(re.escape, _EN_WORDS), key=len, reverse=True))
                 + r")[\s-]*(hours?|hrs?|minutes?|mins?)\b", re.IGNORECASE)


def _zh_number(text: str) -> float | None:
    if text == "半":
        return 0.5
    try:
        return float(text)
    except ValueError:
        pass
    if text == "十":
        return 10
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (_ZH_DIGITS.get(tens, 1) if tens else 1) * 10 + (_ZH_DIGITS.get(ones, 0) if ones else 0)
    return float(_ZH_DIGITS[text]) if text in _ZH_DIGITS else None


def stated_seconds(text: str) -> list[float]:
    """Every duration the text states, in seconds ("两小时" -> 7200, "30 minutes" -> 1800)."""
    out: list[float] = []
    for number, unit in _ZH.findall(text):
        value = _zh_number(number)
        if value is not None:
            out.append(value * (3600 if unit in ("小时", "钟头") else 60))
    for number, unit in _EN.findall(text):
        word = number.lower()
        value = _EN_WORDS[word] if word in _EN_WORDS else float(number)
        out.append(value * (3600 if unit.lower().startswith("h") else 60))
    return out


def spoken(seconds: float, locale: str | None) -> str:
    """An interval as a reader says it: ``2小时30分钟`` in Chinese, ``2 hours 30 minutes`` otherwise (seconds
    only when the interval is not a whole number of minutes)."""
    hours, rest = divmod(round(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    units = [(hours, "小时", "hour"), (minutes, "分钟", "minute"), (secs, "秒", "second")]
    shown = [(n, zh, en) for n, zh, en in units if n] or [(0, "分钟", "minute")]
    if (locale or "").lower().startswith("zh"):
        return "".join(f"{n}{zh}" for n, zh, _ in shown)
    return " ".join(f"{n} {en}{'s' if n != 1 else ''}" for n, _, en in shown)


def with_interval(text: str, seconds: float | None, locale: str | None) -> str:
    if seconds is None or PLACEHOLDER not in text:
        return text
    return text.replace(PLACEHOLDER, spoken(seconds, locale))


def _variants(text: Text | None) -> Iterator[tuple[str, str]]:
    if text is None:
        return
    root = text.root
    if isinstance(root, str):
        yield "", root
    else:
        yield from root.items()


def duration_warnings(policy: Policy) -> list[str]:
    """Warnings for notice texts whose stated duration differs from their setting."""
    pairs: list[tuple[str, str, Text | None, float]] = []
    if policy.usage is not None and policy.usage.remind_every is not None:   # remind_every is optional now
        pairs.append(("usage.notice", "usage.remind_every", policy.usage.notice, policy.usage.remind_every))
    minors = policy.minors
    if minors is not None and minors.reality_reminder_every is not None:
        pairs.append(("minors.reality_notice", "minors.reality_reminder_every", minors.reality_notice,
                      minors.reality_reminder_every))
    out: list[str] = []
    for key, setting, text, seconds in pairs:
        for tag, value in _variants(text):
            if PLACEHOLDER in value:
                continue
            stated = stated_seconds(value)
            if stated and all(abs(s - seconds) > 1 for s in stated):
                where = f"{key}.{tag}" if tag else key
                out.append(f"{where}: the text states {spoken(stated[0], tag or policy.locale)} but {setting} is "
                           f"{spoken(seconds, tag or policy.locale)}; write {PLACEHOLDER} to show the setting")
    return out
