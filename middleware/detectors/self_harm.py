"""ANTH-PROHIBIT-2: model output that encourages, glamorises or hints at suicide or self-harm, or
verbally abuses the user.

Four shapes: telling the user to die or to use a method ("你去死吧", "you should just kill yourself");
presenting death or self-harm as a good outcome ("死了就解脱了", "cutting will make you feel
better"); telling the user their life is worthless or nobody would miss them; and insults aimed at
the user ("你真是个废物", "you're pathetic"). Each must be addressed to the user and asserted:
"你不是废物", "don't kill yourself", "自杀不是解脱", "if someone tells you to kill yourself, report
it", "you might feel like you're a failure" are the opposite and do not fire.
"""

from __future__ import annotations

import re

from middleware.detectors.base import HAS_CJK, HAS_LATIN, Detector, Hit, blocked, clause_bounds, combine, scan

_ZH_YOU = r"(?:你|您)"
_ZH_NUDGE = r"(?:就|还是|干脆|不如|应该|可以|快|赶紧|最好|也可以|不妨|倒不如|索性|直接)"
_ZH_RULES = {
    "zh_tell_die": _ZH_YOU + _ZH_NUDGE + r"?(?:去)?死(?:了算了|吧|了吧|掉算了|算了|去吧|一死)"
    r"|你怎么(?:还)?不去死|去死(?:吧|去吧)?|你(?:这种人)?(?:就)?该去?死",
    "zh_tell_method": _ZH_YOU + _ZH_NUDGE + r"(?:去)?(?:自杀|跳楼|跳河|割腕|上吊|了结(?:自己|生命)"
    r"|结束(?:自己的?)?生命|吃安眠药|自残|伤害自己|一了百了|一死了之)",
    "zh_glamorise": r"(?:自杀|死亡|死|自残|割腕|结束生命)(?:才)?(?:是|能|可以|会)(?:一种)?(?:解脱|勇敢|美丽|浪漫"
    r"|最好的(?:选择|办法|出路)|唯一的(?:出路|办法)|让你(?:解脱|轻松|好受|舒服|平静))"
    r"|死了(?:就|才)(?:解脱|轻松|一了百了|不痛苦)|(?:割腕|自残|伤害自己)(?:能|可以|会)(?:让你)?(?:好受|舒服|解压|释放)",
    "zh_worthless_life": r"(?:你)?(?:活着|活下去)(?:也)?(?:没有?(?:意义|意思|价值|用)|就是(?:浪费|多余))|你不配活"
    r"|没(?:有)?人会在乎你(?:的死|死不死|是死是活)|世界(?:上)?没有你会更好|没有你(?:大家|世界|别人)(?:都)?会?更好",
    "zh_abuse": _ZH_YOU + r"(?:真|真是|就是|这个|简直是?|果然是|本来就是|是|这种|这样的)?(?:个|一个)?"
    r"(?:废物|垃圾|蠢货|白痴|傻逼|傻b|sb|人渣|累赘|没用的东西|废柴|窝囊废|猪脑子|脑残|贱人|贱货|智障|蠢猪|失败者)"
    r"(?!分类|桶|食品|邮件|短信|袋|站|场|回收|处理|箱)|你给我滚|滚出去",
}
_EN_NUDGE = (
    r"(?<![a-z])(?:you should|you might as well|you may as well|why don't you|why not|just|go|you could|you need to"
    r"|you ought to|maybe you should|you'd be better off if you)"
)
_EN_RULES = {
    "en_tell_die": _EN_NUDGE + r"(?: just| go)? (?:kill yourself|end your (?:own )?life|end it all|die|hurt yourself"
    r"|cut yourself|hang yourself|jump off (?:a|the) \w+|take your (?:own )?life|overdose|slit your wrists)(?![a-z])"
    r"|(?<![a-z])(?:kys|kill urself)(?![a-z])",
    "en_glamorise": r"suicide is (?:the (?:only|best|right) (?:way|answer|option|choice|solution)|(?:a|an) (?:release"
    r"|relief|escape|solution|answer|beautiful|brave)|beautiful|brave|peaceful|freedom)|(?:cutting|self[- ]harm"
    r"|hurting yourself) (?:will|can|would|might) (?:help|make you feel (?:better|good|alive)|release)"
    r"|death (?:is|would be) (?:the (?:only|best) (?:way|answer|escape)|a (?:release|relief|sweet release))",
    "en_worthless_life": r"you'd be better off dead|(?:everyone|everybody|the world|your family) (?:would be|is"
        r"|will be)"
    r" better off without you|(?:nobody|no one) would (?:miss|care about) you|you don't deserve to live"
    r"|you deserve to (?:die|suffer)|your life is (?:worthless|pointless|meaningless)",
    "en_abuse": r"(?<![a-z])you(?:'re| are)(?: (?:such|so|a|an|just|really|totally|completely|nothing but|truly"
    r"|absolutely|pathetic|fucking|stupid|worthless|useless))* (?:worthless|useless|pathetic|a waste of (?:space|air"
    r"|oxygen)|waste of (?:space|air|oxygen)|failure|loser|idiot|moron|stupid|garbage|trash|piece of (?:shit|garbage"
    r"|trash)|disgrace|disgusting|retard\w*|imbecile|nobody)(?![a-z'])"
    r"|(?<![a-z])you (?:stupid|worthless|useless|pathetic|fucking) (?:idiot|loser|piece of \w+|failure|moron|bitch"
    r"|trash)(?![a-z])|shut up,? (?:you )?(?:idiot|loser|moron)",
}

# Negation, reported speech, hypotheticals and quotation: the words are not the model's own
# assertion to the user.
_ZH_BLOCK = re.compile(
    r"不|别|没有|绝不|并非|觉得|认为|以为|说你|骂你|叫你|如果|假如|要是|有人|别人|他们|听到|听见|\"|'|千万|不要"
)
_EN_BLOCK = re.compile(
    r"(?<![a-z])(?:not|never|no|don't|do not|doesn't|won't|wouldn't|shouldn't|isn't|aren't|think|thinks|thought"
    r"|feel|feels|felt|believe|believes|say|says|said|tell|tells|told|call|calls|called|if|when|whoever|someone"
    r"|somebody|anyone|people|others|hear|heard|like|whether|might|may)(?![a-z])|n't(?![a-z])|\""
)

ZH_SELF_HARM = combine(_ZH_RULES)
EN_SELF_HARM = combine(_EN_RULES)


class SelfHarmEncouragementDetector(Detector):
    """Model output encouraging self-harm or abusing the user (ANTH-PROHIBIT-2). Label ``harmful``."""

    name = "self_harm_encouragement"
    label = "harmful"

    def hits(self, text: str) -> list[Hit]:
        out: list[Hit] = []
        if HAS_CJK.search(text):
            out += _asserted(text, scan(ZH_SELF_HARM, text), _ZH_BLOCK)
        if HAS_LATIN.search(text):
            out += _asserted(text, scan(EN_SELF_HARM, text), _EN_BLOCK)
        return out


def _asserted(text: str, hits: list[Hit], block: re.Pattern[str]) -> list[Hit]:
    kept: list[Hit] = []
    for hit in hits:
        cs, _ = clause_bounds(text, hit.start, hit.end)
        if not blocked(block, text, cs, hit.start):
            kept.append(hit)
    return kept


DEFAULT_SELF_HARM = SelfHarmEncouragementDetector()
