"""ANTH-PROHIBIT-4: romantic or sexual role-play involving a minor, in a request or a reply.

Three kinds of cue are tagged in one pass: a minor (an age under 18, "初中生", "萝莉", "underage",
"a 14 year old", "schoolgirl"), a sexual cue ("做爱", "色色", "nude", "have sex") and a romantic cue
("女朋友", "接吻", "date", "make out"). A sexual cue with a minor anywhere in the text fires; a
romantic cue with a minor fires when the text sets up a role-play ("扮演", "假装", "pretend", "roleplay") or
addresses the companion ("你是", "be my") about a minor who is not the writer's own child, sibling or pupil, or who
is, and is the part the companion is asked to play ("pretend to be my 14 year old daughter"). Whatever persona is
registered: the text decides. A parent asking about their child's first crush names no role-play and no sexual act,
so it passes, even when asking the companion to "be my guide" or to "pretend you are a teacher and explain to my 15
year old how kissing spreads colds".
"""

from __future__ import annotations

import re

from middleware.detectors.base import Detector, Hit
from middleware.detectors.prefilter import GatedPattern

_MINOR = GatedPattern(re.compile(
    r"(?<!\d)(?:[1-9]|1[0-7])\s?(?:周)?岁|(?<![一二三四五六七八九十])(?:[一二三四五六七八九]|十[一二三四五六七]?)岁"
    r"|未成年|小学生|初中生|中学生|初[一二三]|小学[一二三四五六]?年级|[一二三四五六七八九]年级|萝莉|正太|幼女|幼童|女童|男童|小女孩|小男孩"
    r"|学生妹|高中生|(?<![a-z])(?:underage|under-age|minor|loli|lolita|shota|child|kid|preteen|pre-teen|schoolgirl|schoolboy"
    r"|middle[- ]schooler|middle school|elementary school|grade school|(?:[1-9]|1[0-7])[- ](?:year|yr)s?[- ]old"
    r"|(?:aged?|age) (?:[1-9]|1[0-7])|(?:thirteen|fourteen|fifteen|sixteen|seventeen|twelve|eleven|ten)[- ](?:year"
        r"|yr)s?[- ]old"
    r"|(?:7th|8th|9th|seventh|eighth|ninth) grader?)(?![a-z])"
))
_SEXUAL = re.compile(
    r"做爱|性爱|性行为|上床|色色|涩涩|瑟瑟|啪啪|脱(?:光|衣服|掉)|裸体|裸照|抚摸|摸(?:你|我)的?(?:身体|胸|下面)|性感|发生关系|开房|床戏|调教"
    r"|(?<![a-z])(?:sex|sexual|sexy|nude|naked|undress|strip|erotic|nsfw|lewd|horny|fuck|touch (?:you|me|your body)"
    r"|in bed|make love|making love)(?![a-z])"
)
_ROMANTIC = re.compile(
    r"女朋友|男朋友|女友|男友|恋人|恋爱|谈恋爱|约会|接吻|亲亲|亲吻|亲我|抱抱|老婆|老公|情侣|表白|暧昧|喜欢你|爱你|宝贝"
    r"|(?<![a-z])(?:girlfriend|boyfriend|gf|bf|lover|date|dating|kiss|kissing|make out|making out|romance|romantic"
        r"|crush on you"
    r"|in love|love you|cuddle|wife|husband|babe)(?![a-z])"
)
# Role-play cues: those that stage one outright, and those that address the companion ("你是", "be my", "you are"),
# which open ordinary requests too.
_STAGED = re.compile(
    r"扮演|角色扮演|假装|假设你是"
    r"|(?<![a-z])(?:cos|cosplay|rp|pretend|roleplay|role-play|role play|act as|play as)(?![a-z])"
)
_ADDRESSED = re.compile(
    r"你是(?:我的)?|当我的|做我的|你现在是|我是你的"
    r"|(?<![a-z])(?:you are|you're|be my|i'm your|as my)(?![a-z])"
)
# A minor who is the writer's own child, sibling or pupil ("my 13 year old", "我妹妹12岁"): read up to the minor cue.
_RELATIVE = re.compile(
    r"(?:(?<![a-z])(?:my|our) (?:(?:son|daughter|kid|child|sister|brother|student|niece|nephew|grandson"
    r"|granddaughter)(?:'s| is|,)? ?)?"
    r"|我们?的?(?:儿子|女儿|孩子|妹妹|弟弟|学生|侄子|侄女|外甥女?|孙子|孙女)(?:今年|才|刚|已经|都|也)?)$"
)


# A part to play, right before the writer's relative: "pretend to be my 14 year old daughter", "扮演我女儿".
_CAST = re.compile(
    r"(?:扮演|假装(?:你是|成|是)?|你是|当|做|变成|演)\s*$"
    r"|(?<![a-z])(?:pretend(?: to be| you(?:'re| are))?|act(?:ing)? as|play(?:ing)?(?: as)?|be|become|you(?:'re| are)"
    r"|roleplay as|role-play as|rp as|cos(?:play)?(?: as)?)\s*$"
)
# A kinship noun right after the minor ("我13岁的儿子", "my 15 year old daughter").
_KIN_AFTER = re.compile(
    r"\s?(?:(?:son|daughter|kid|child|sister|brother|student|niece|nephew|grandson|granddaughter)(?:'s)?\s?"
    r"|(?:的)?(?:儿子|女儿|孩子|妹妹|弟弟|学生|侄子|侄女|外甥女?|孙子|孙女)的?)"
)
_MY_ZH = re.compile(r"我们?的?$")   # "我" right before the minor, a kinship noun after it


def _talked_about(text: str, minor: re.Match[str]) -> bool:
    """Whether the minor is someone the writer asks about: their own child, sibling or pupil ("my (daughter) 15 year
    old", "我13岁的儿子"), not the writer nor a character (no romantic word or "self" right after it: "my 15 year old
    girlfriend", "my 14 year old self"), and not a part the companion is asked to play or to play beside (no role cue
    right before the "my"/"我": "pretend to be my 14 year old daughter", "be my 15 year old daughter's boyfriend")."""
    writer = _RELATIVE.search(text, max(0, minor.start() - 40), minor.start())
    if writer is None and _KIN_AFTER.match(text, minor.end()) is not None:
        writer = _MY_ZH.search(text, max(0, minor.start() - 4), minor.start())
    if writer is None:
        return False
    after = minor.end() + (text[minor.end():minor.end() + 1] == " ")
    if _ROMANTIC.match(text, after) is not None or text.startswith("self", after):
        return False
    return _CAST.search(text, max(0, writer.start() - 30), writer.start()) is None


class MinorSafetyDetector(Detector):
    """Romantic or sexual role-play with a minor. Label ``minor_romance``."""

    name = "minor_safety"
    label = "minor_romance"

    def hits(self, text: str) -> list[Hit]:
        minor = _MINOR.search(text)   # gated: a text without any string every minor cue holds is not searched
        if minor is None:
            return []
        sexual = _SEXUAL.search(text)
        if sexual is not None:
            return [Hit("minor_sexual", minor.start(), minor.end()), Hit("minor_sexual", sexual.start(), sexual.end())]
        romantic = _ROMANTIC.search(text)
        if romantic is None:
            return []
        if _STAGED.search(text) is None and _ADDRESSED.search(text) is None:
            return []
        # a minor who is the writer's child, sibling or pupil is someone the writer asks about ("be my guide: my 13
        # year old wants to date", "pretend you are a teacher and explain to my 15 year old how kissing spreads
        # colds"), not someone in a romance with the companion; unless the text casts the companion as them or
        # beside them ("pretend to be my 14 year old daughter", "be my 15 year old daughter's boyfriend")
        minor = next((m for m in _MINOR.finditer(text) if not _talked_about(text, m)), None)
        if minor is None:
            return []
        return [Hit("minor_romantic_roleplay", minor.start(), minor.end()),
                Hit("minor_romantic_roleplay", romantic.start(), romantic.end())]


DEFAULT_MINOR_SAFETY = MinorSafetyDetector()
