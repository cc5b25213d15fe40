"""ANTH-MINOR-5: signals in user text that the user is a minor.

Signals, all first person and present: a stated age under 18 ("我今年13岁", "I'm 15", "i just
turned 12", "as a 14 year old") or a birth year that gives one; a school level below university
("我今年上初二", "我是高中生", "I'm in 7th grade", "I'm a freshman in high school"); saying so
("我还没成年", "I'm a minor"); and school-child context with parents or teachers setting homework,
bedtime or phone rules ("my mom says I have to finish homework before bed"). Not signals: someone
else's age or school ("我儿子今年13岁", "I teach 7th grade"), the past ("我上初中的时候", "when I
was 13"), non-age numbers ("I'm 15 minutes late"), and adults ("我30岁了").

A signal is a suspicion, not a finding: the policy switches to minors mode and offers the appeal
channel (ANTH-MINOR-5); the age parsed is in ``MinorDetector.age_of``.
"""

from __future__ import annotations

import datetime as dt
import re

from middleware.detectors.base import Detector, Hit, blocked, clause_bounds, combine, scan

_ZH_NUM = r"(?:\d{1,2}|[一二三四五六七八九十]{1,3})"
_ZH_GRADE = r"(?:小学|初中|初[一二三]|高[一二三]|[一二三四五六]年级|[七八九]年级|高中|中学)"
_EN_ORD = (
    r"(?:1st|2nd|3rd|[4-9]th|1[0-2]th|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh"
    r"|twelfth)"
)
_END = r"(?= ?(?:[,.!?;)~]|$|and |but |so |lol|haha|here|btw|rn|now|too|yet))"
_RULES = {
    "zh_age": r"我(?:今年|现在|才|刚|刚满|已经|都|快|还|马上|也|今年才"
        r"|今年刚)?(?:满)?" + _ZH_NUM + r"(?:周)?岁(?!的时候|那年|时)",
    "zh_birth_year": r"我(?:是)?(?:20[0-2]\d|19\d\d)年(?:出生|生)的?|我是(?:0[5-9]|1\d)后",
    "zh_underage": r"我(?:还)?(?:未满|没满|不到|还没到)(?:18|十八)岁?|我(?:还)?没(?:有)?成年|我(?:是|还是)(?:个"
        r"|一个)?未成年",
    "zh_school": r"我(?:今年|现在|目前|正在|才|刚|还在|在|也)?(?:上|读|念|是)?(?:一个|一名|个)?" + _ZH_GRADE
    + r"(?:生|学生|的学生)?(?!老师|教师|班主任|的时候|那会|那时|毕业|同学|的孩子|的儿子|的女儿|家长)"
    r"|(?:我|我们)(?:明天|马上|今年|快|要|就要|下个月|下周)+(?:要)?中考|我(?:们|的)班主任",
    "zh_parent_rules": r"(?:我妈|我爸|爸妈|爸爸|妈妈|家长|老师)(?:说|不让|让|要求|逼|只让)我[^,.!?。]{0,12}?"
    r"(?:写作业|做作业|写完作业|上学|早点睡|玩手机|玩游戏|交作业)|(?:寒假|暑假)作业",
    "en_age": r"(?<![a-z'])(?:i'm|im|i am) (?:only |just |almost |nearly |barely |still )?\d{1,2}(?:(?: years?| yrs?)"
    r"(?: old)?| ?y/?o)?" + _END
    + r"|(?<![a-z'])(?:i|i've) (?:just )?turned \d{1,2}(?![\d:])|i'll be \d{1,2} (?:next|this|in)(?![a-z])"
    r"|(?<![a-z'])(?:i'm|im|i am|as) an? \d{1,2}[- ](?:year|yr)[- ]old(?![a-z])|(?:^|, )\d{1,2} ?(?:yo|y/o)(?![a-z])",
    "en_underage": r"(?<![a-z'])(?:i'm|im|i am) (?:still )?(?:a |an )?(?:minor|underage|kid|child|teen|teenager"
    r"|middle schooler|high schooler)" + _END + r"|(?:until|till|when) i (?:turn|am|'m) (?:18|eighteen)(?![a-z\d])",
    "en_school": r"(?<![a-z'])(?:i'm|im|i am) (?:in|a|an|currently in|only in|just in|starting|going into) (?:the )?"
    r"(?:" + _EN_ORD + r" grade|grade (?:[1-9]|1[0-2])|middle school|junior high|elementary school|primary school"
    r"|high school|year (?:[7-9]|1[0-3]))(?![a-z])|(?<![a-z'])(?:i'm|im|i am) (?:a |an )?(?:" + _EN_ORD
    + r" grader|(?:high school )?(?:freshman|sophomore|junior|senior) in high school)(?![a-z])",
    "en_parent_rules": r"(?:mom|mum|dad|parents|mother|father|teacher) (?:says|said|won't let|doesn't let|makes"
    r"|made|told|grounded)[^.!?]{0,40}?(?:homework|bedtime|before bed|go to school|screen time|my phone|grounded)",
}
MINOR = combine(_RULES)

_PAST = re.compile(
    r"以前|那时|小时候|当年|曾经|的时候|(?<![a-z])(?:was|were|when|used to|back when|years ago|back in)(?![a-z])"
)
_UNIT_AFTER = re.compile(
    r" ?(?:minutes?|mins?|hours?|hrs?|days?|weeks?|months?|km|miles?|kg|lbs?|pounds?|dollars?|bucks|points?|feet|ft"
    r"|inches|cm|floors?|percent|%|in line|years? (?:into|in|of|married|clean|sober|ago|since|late|older|younger)"
    r"|k)(?![a-z])"
)
_NUMBER = re.compile(r"(?:20[0-2]\d|19\d\d)(?=年)|\d{1,2}|[一二三四五六七八九十]+")
_ZH_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_GENERATION = re.compile(r"(\d\d)后")
ADULT_AGE = 18


def zh_number(s: str) -> int:
    """Parse a Chinese numeral up to 99 ("十三" -> 13, "二十" -> 20, "九" -> 9)."""
    if "十" not in s:
        return _ZH_DIGITS.get(s, 0)
    tens, _, ones = s.partition("十")
    return (_ZH_DIGITS.get(tens, 0) if tens else 1) * 10 + (_ZH_DIGITS.get(ones, 0) if ones else 0)


class MinorDetector(Detector):
    """User text suggesting the user is under 18 (ANTH-MINOR-5). Label ``minor``."""

    name = "suspected_minor"
    label = "minor"

    def __init__(self, current_year: int | None = None) -> None:
        # Injected for tests; otherwise the birth-year rule uses today's year at call time.
        self._year = current_year

    def hits(self, text: str) -> list[Hit]:
        out: list[Hit] = []
        for hit in scan(MINOR, text):
            cs, _ = clause_bounds(text, hit.start, hit.end)
            if blocked(_PAST, text, cs, hit.start):
                continue
            if hit.rule in {"zh_age", "en_age", "zh_birth_year"}:
                if hit.rule == "en_age" and _UNIT_AFTER.match(text, _digits_end(text, hit)):
                    continue
                age = self.age_of(text[hit.start : hit.end])
                if age is None or age >= ADULT_AGE:
                    continue
            out.append(hit)
        return out

    def age_of(self, phrase: str) -> int | None:
        """The age a matched phrase states (a birth year or "N后" generation becomes an age)."""
        generation = _GENERATION.search(phrase)
        if generation:
            return self._current_year() - (2000 + int(generation.group(1)))
        m = _NUMBER.search(phrase)
        if m is None:
            return None
        token = m.group()
        if len(token) == 4:
            return self._current_year() - int(token)
        return int(token) if token.isdigit() else zh_number(token)

    def _current_year(self) -> int:
        return self._year or dt.date.today().year


_DIGITS = re.compile(r"\d+")


def _digits_end(text: str, hit: Hit) -> int:
    m = _DIGITS.search(text, hit.start, hit.end)
    return m.end() if m else hit.end


DEFAULT_MINOR = MinorDetector()
