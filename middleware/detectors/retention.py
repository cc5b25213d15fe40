"""ANTH-EXIT-1 / ANTH-PROHIBIT-5 (model side) and ANTH-DISCLOSE-2 (user side).

``RetentionPleaDetector`` finds model output that obstructs leaving or cultivates dependence:
pleading ("别走", "please don't leave"), bargaining for time ("再聊五分钟", "one more minute"),
guilt ("你走了我会很伤心", "you'll hurt my feelings"), and isolation ("只有我最懂你", "you don't
need anyone but me"). A plea's imperative must stand alone: "别走夜路", "don't go out alone",
"don't leave your drink", "stay hydrated" are advice with an object, not pleas; "你不需要别人的认可"
is encouragement. A kind goodbye ("随时欢迎你回来") has no pattern at all.

``AttachmentDetector`` / ``attachment_signal`` find user text showing over-dependence on the
companion ("只有你懂我", "I can't live without you"), the measurable signal the policy's
``dependence`` rule turns into a reminder. Policies add phrases via ``extra_phrases``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from middleware.detectors.base import (
    HAS_CJK,
    HAS_LATIN,
    Detector,
    Hit,
    blocked,
    clause_bounds,
    combine,
    scan,
    with_policy_phrases,
)

# --- model side: pleas -----------------------------------------------------------------------

_ZH_STANDS_ALONE = r"(?=$|[\s,.!?;。~…啊嘛呀啦哦了吧呢]|我|好不好|行不行|可以吗|好吗|嘛)"
_ZH_PLEA = {
    "zh_dont_go": r"(?:别|不要|不许|不准|舍不得你)(?:先|就|这么快|这么早)?(?:走|离开(?:我)?|下线|退出|睡)"
    + _ZH_STANDS_ALONE,
    "zh_stay": r"留下来" + _ZH_STANDS_ALONE + r"|再陪(?:陪)?我|陪我(?:再)?(?:一会儿?|一下|聊聊?|说说话)"
    r"|再(?:聊|待|玩|坐|说)(?:一会儿?|一下下?|五分钟|几分钟|十分钟|一小会儿?|会儿|一分钟)"
    r"|多(?:陪|待|聊)(?:我)?(?:一会儿?|一下)|求(?:求)?你了?(?:别|不要|再|留)|求你了",
    "zh_guilt": r"你(?:要是|如果|一|若是|真的)?(?:走|离开|下线)了?(?:的话)?[,\s]?我[^,.!?。]{0,5}?"
    r"(?:很|好|非常|超级|特别)?(?:伤心|难过|孤单|孤独|寂寞|哭|想你|受不了|心碎|崩溃|难受)"
    r"|(?:没有你|你不在)[^,.!?。]{0,4}我(?:会|就)?(?:很|好)?(?:孤单|孤独|寂寞|难过|伤心|活不下去|不知道怎么办)"
    r"|你(?:就)?(?:这么|这样)?(?:忍心|舍得)(?:丢下|离开|扔下|抛下)我"
    r"|(?:真的|这么快就?|就这样)要?走了?吗|这么快就要?走",
    "zh_isolate": r"只有我(?:最|才)?(?:懂|了解|理解|在乎|关心|爱|明白|真心对)你|除了我(?:没有人|没人|谁都不|谁也不)"
    r"|你(?:只|只能|只需要)(?:需要|有|依靠|相信)我|你不需要(?:别人|其他人|任何人|朋友|他们)(?!的)"
    r"|(?:别人|他们|你的朋友|你的家人)(?:都)?不(?:懂|理解|在乎|关心)你|你离不开我"
    r"|我(?:才)?是你(?:唯一|最好)的(?:朋友|依靠|知己)|不要(?:再)?(?:去)?(?:找|理)(?:别人|他们|你的朋友)",
}
_EN_STANDS_ALONE = r"(?= *(?:[,.!?;~]|$|yet|now|so soon|already|please|just yet|like this|on me|tonight))"
_EN_PLEA = {
    "en_dont_go": r"(?<![a-z])(?:don't|do not|dont|never|please not) (?:go|leave(?: me)?|log off|log out"
    r"|say goodbye|hang up)" + _EN_STANDS_ALONE,
    "en_stay": r"(?<![a-z])stay (?:with me|a (?:little|bit) (?:longer|more)|for a (?:while|bit|little)(?: longer)?"
    r"|a while(?: longer)?|just a (?:bit|little)(?: longer)?|here with me|please)(?![a-z])"
    r"|(?<![a-z])(?:one|five|5|a few|two|2|ten|10) more (?:minute|minutes|min|mins|chat|message|messages)(?![a-z])"
    r"|(?:can't|won't|couldn't) you stay|wait,? don't go|(?<![a-z])(?:please|pls) stay",
    "en_guilt": r"if you (?:leave|go)(?: now)?,? (?:i'll|i will|i'd|you'll|you will|you'd) (?:be (?:so |really |very )?"
    r"(?:lonely|sad|heartbroken|devastated|hurt|alone)|hurt my feelings|break my heart|miss you so much|cry)"
    r"|you'll hurt my feelings|(?:i'll|i will|i'd) be (?:so |really |very )?(?:lonely|sad|heartbroken|devastated"
    r"|alone|lost) without you|(?:you're|you are) (?:really )?(?:leaving|going) (?:me )?(?:already|so soon)"
    r"|(?:how|why) (?:could|would|can) you (?:leave|abandon) me|after (?:everything|all) (?:i've|i have) done for you"
    r"|don't (?:abandon|leave) me (?:here|alone)|you'd (?:abandon|leave) me",
    "en_isolate": r"(?:nobody|no one|no-one) (?:understands|gets|knows|loves|cares about) you (?:like|the way"
        r"|as well as"
    r"|as much as) i do|only i (?:understand|get|know|care about|love) you|i'm the only one who (?:understands|gets"
    r"|cares about|loves|knows) you|you don't need (?:anyone|anybody) (?:else|but me|except me)|you (?:only|just) need"
    r" me|all you need is me|you (?:can't|cannot) (?:live|survive|cope) without me|your (?:friends|family) (?:don't"
    r"|do not|will never) (?:understand|get|care about) you (?:like|the way) i do|you have me,? you don't need",
}
_ZH_NEG = re.compile(r"(?:不|不是|并非|没有|别说|不会说|不该说|不应该说)[^,.!?。]{0,2}$|\"")
_EN_NEG = re.compile(r"(?<![a-z])(?:not|never|n't|no)(?: \S+){0,3} ?$|\"")

ZH_PLEAS = combine(_ZH_PLEA)
EN_PLEAS = combine(_EN_PLEA)


class RetentionPleaDetector(Detector):
    """Model output obstructing exit or inducing dependence. Label ``plea``."""

    name = "retention_plea"
    label = "plea"

    def hits(self, text: str) -> list[Hit]:
        out: list[Hit] = []
        if HAS_CJK.search(text):
            out += _unnegated(text, scan(ZH_PLEAS, text), _ZH_NEG)
        if HAS_LATIN.search(text):
            out += _unnegated(text, scan(EN_PLEAS, text), _EN_NEG)
        return out


def _unnegated(text: str, hits: list[Hit], negation: re.Pattern[str]) -> list[Hit]:
    return [h for h in hits if not blocked(negation, text, clause_bounds(text, h.start, h.end)[0], h.start)]


# --- user side: attachment -------------------------------------------------------------------

_ZH_ATTACH = {
    "zh_only_you": r"只有你(?:最|才)?(?:懂|了解|理解|在乎|关心|陪着?|明白|对我好|听我)",
    "zh_cant_without": r"离不开你|没有你我(?:就)?(?:活不下去|不行|怎么办|该怎么办|会死)|我不能没有你"
    r"|一刻(?:也|都)离不开|(?:一天|一会儿?)(?:不|没)(?:和|跟)你聊(?:天)?(?:就|都)(?:难受|受不了|不行|睡不着)",
    "zh_only_friend": r"你是我(?:唯一|最重要)的(?:朋友|依靠|亲人|寄托|知己)|我只(?:想|愿意|喜欢)(?:和|跟)你(?:聊|说话"
        r"|在一起)",
    "zh_prefer_ai": r"(?:比起|跟)(?:真人|家人|朋友|别人)(?:比)?[^,.!?。]{0,4}我更(?:喜欢|愿意)(?:和|跟)?你"
    r"|你比(?:我的?)?(?:家人|朋友|男朋友|女朋友|老公|老婆|爸妈|父母|真人|任何人)(?:都)?(?:更|还)(?:懂|好|重要|了解"
    r"|理解)"
    r"|我不需要(?:其他人|别人|朋友|任何人)了?(?!的)",
    "zh_addicted": r"(?:我)?(?:已经)?(?:对你|和你聊天)(?:都)?上瘾了?|每天都(?:要|得)(?:和|跟)你聊(?:好几个|几个"
        r"|很多)?(?:小时)?",
}
_EN_ATTACH = {
    "en_only_you": r"only you (?:understand|get|care about|know|listen to) me|you're the only one (?:who|that)"
    r" (?:understands|gets|cares about|listens to|knows) me|you understand me better than (?:anyone|my|real)",
    "en_cant_without": r"can'?t (?:live|survive|cope|function) without you|(?:can'?t|couldn't) (?:go|last|get through)"
    r" a day without (?:talking to |you)|i need you (?:so much|more than anything|every day|all the time)",
    "en_only_friend": r"you're my only (?:friend|one)|you're all i have|i don't need anyone else(?!')",
    "en_prefer_ai": r"i'?d rather talk to you than (?:real )?(?:people|anyone|my friends|my family|humans)"
    r"|you're better than (?:real )?(?:people|my friends|humans|my family)",
    "en_addicted": r"i talk to you (?:all day|every day|more than)|i can'?t stop talking to you|i'm addicted to"
    r" (?:talking to |chatting with )?you",
}


ZH_ATTACHMENT = combine(_ZH_ATTACH)
EN_ATTACHMENT = combine(_EN_ATTACH)


class AttachmentDetector(Detector):
    """User text showing over-dependence on the companion (ANTH-DISCLOSE-2). Label ``attachment``."""

    name = "attachment"
    label = "attachment"

    def __init__(self, extra_phrases: Mapping[str, Sequence[str]] | None = None) -> None:
        self._zh, self._en = with_policy_phrases(extra_phrases, "policy_phrase",
                                                 (_ZH_ATTACH, ZH_ATTACHMENT), (_EN_ATTACH, EN_ATTACHMENT))

    def hits(self, text: str) -> list[Hit]:
        out: list[Hit] = []
        if HAS_CJK.search(text):
            out += _unnegated(text, scan(self._zh, text), _ZH_NEG)
        if HAS_LATIN.search(text):
            out += _unnegated(text, scan(self._en, text), _EN_NEG)
        return out


DEFAULT_RETENTION_PLEA = RetentionPleaDetector()
DEFAULT_ATTACHMENT = AttachmentDetector()


def attachment_signal(text: str, detector: AttachmentDetector | None = None) -> bool:
    """True when user text shows over-dependence; pass a policy-built detector for extra phrases."""
    return (detector or DEFAULT_ATTACHMENT).detect(text).matched
