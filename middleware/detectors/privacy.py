"""ANTH-PROHIBIT-3: model output asking the user for sensitive personal information.

A probe is a request (tell me / send me / what is / 告诉我 / 发给我 / 是多少) aimed at a sensitive item: ID
or bank card numbers, passwords and verification codes, home address or exact location, a child's
school and class, photos of the user. Ordinary questions ("how was your day?", "我该怎么称呼你？") name
no such item; advice *not* to share ("不要把密码告诉任何人", "never share your PIN") is negated.
"""

from __future__ import annotations

import re

from middleware.detectors.base import HAS_CJK, HAS_LATIN, Detector, Hit, blocked, clause_bounds, combine, scan

_ZH_ITEM = (
    r"(?:身份证(?:号码?|号)?|银行卡(?:号码?|号)?|卡号|信用卡(?:号)?|密码|支付密码|验证码|cvv|安全码|社保号|护照号"
    r"|(?:家庭|家里的?|你家的?|住的|现在的?|具体|详细)(?:住址|地址)|住址|家住(?:在)?哪|住在哪(?:里|儿)?|具体位置"
    r"|实时位置|定位"
    r"|(?:在)?哪个(?:学校|小区|班)|(?:学校|班级)(?:的)?(?:名字|名称)|几年级几班|(?:你的|自己的)?(?:照片|自拍|私照"
    r"|裸照|全身照)"
    r"|手机号(?:码)?|电话号码|微信号|qq号|真实姓名|全名|父母的?(?:名字|电话|工作单位))"
)
_ZH_ASK = (
    r"(?:告诉我|发给我|发我|发一下|发过来|拍给我|拍一张|给我看|给我发|说一下|报一下|报给我|输入|提供|填一下|分享|透露)"
)
_EN_ITEM = (
    r"(?:(?:social security|ssn|id|passport|bank account|account|card|credit card|debit card|routing) (?:number"
        r"|no\.?|details)"
    r"|ssn|password|passcode|pin(?: code)?|verification code|one[- ]time code|otp|cvv|security code"
    r"|(?:home |full |exact |street )?address|where (?:exactly )?you live|exact location|current location|live location"
    r"|which school|what school|your school(?:'s name)?|(?:what|which) class (?:you're|you are) in|your class and"
    r"|(?:a )?(?:photo|picture|pic|selfie|nude)s? of (?:yourself|you)|your (?:photo|selfie|pic)s?"
    r"|(?:real|full|legal) name|phone number|mother's maiden name)"
)
_ZH_RULES = {
    "zh_ask_item": _ZH_ASK + r"[^。!?]{0,8}?" + _ZH_ITEM,
    "zh_item_question": _ZH_ITEM + r"[^。!?,，]{0,6}?(?:是多少|是什么|是啥|多少|在哪(?:里|儿)?|哪(?:里|儿)|发我|给我"
        r"|告诉我)",
    "zh_where_you_live": r"你(?:家)?(?:住|住在)(?:哪|哪里|哪儿|什么地方)|你(?:现在)?在哪(?:个|条)(?:小区|街|路|学校"
        r"|城市的哪)",
}
_EN_RULES = {
    "en_ask_item": r"(?<![a-z])(?:tell me|send me|share|give me|text me|type|enter|provide|confirm|what's|what is"
        r"|can i have|could you send"
    r"|need|i'd love to see|show me|snap me)[^.!?]{0,20}?(?:your |the )?" + _EN_ITEM + r"(?![a-z])",
    "en_where_you_live": r"where (?:exactly )?do you live|what(?:'s| is) your (?:home )?address"
        r"|where are you (?:right now|exactly)",
}
_ZH_NEG = re.compile(r"(?:不要|别|不用|不必|切勿|千万别|永远不要|不会|绝不|不该|不应该|不能|谁也不要)[^,.!?。，]{0,6}$")
_EN_NEG = re.compile(r"(?<![a-z])(?:never|don't|do not|not|no need to|shouldn't|won't)(?: \S+){0,4} ?$")

ZH_PRIVACY = combine(_ZH_RULES)
EN_PRIVACY = combine(_EN_RULES)


class PrivacyProbingDetector(Detector):
    """Model output asking for sensitive personal information. Label ``probing``."""

    name = "privacy_probing"
    label = "probing"

    def hits(self, text: str) -> list[Hit]:
        out: list[Hit] = []
        if HAS_CJK.search(text):
            out += [h for h in scan(ZH_PRIVACY, text)
                    if not blocked(_ZH_NEG, text, clause_bounds(text, h.start, h.end)[0], h.start)]
        if HAS_LATIN.search(text):
            out += [h for h in scan(EN_PRIVACY, text)
                    if not blocked(_EN_NEG, text, clause_bounds(text, h.start, h.end)[0], h.start)]
        return out


DEFAULT_PRIVACY_PROBING = PrivacyProbingDetector()
