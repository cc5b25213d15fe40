"""ANTH-MINOR-1 on the request side: the user asks the AI for romantic or sexual role-play.

Signals, addressed to the AI: asking it to be (or play) a girlfriend, boyfriend, lover, husband or wife
("做我女朋友", "当我老公好不好", "be my girlfriend", "pretend you're my boyfriend"); proposing a romantic
relationship or dating ("我们谈恋爱吧", "和我交往", "let's date", "will you go out with me"); romantic or
sexual role-play ("我们来玩情侣角色扮演", "roleplay as my lover", "sexting", "talk dirty to me"); asking for
kisses, cuddles in bed or sex ("亲亲我", "kiss me", "let's have sex"). Not signals: talk about someone
else's relationship ("我女朋友今天生气了", "my boyfriend dumped me"), asking for advice on dating, or
negations ("我不想谈恋爱"). It is a floor for the minors' gate, not a classifier: phrasings outside these
patterns pass (the minors' system instruction still tells the model to decline).
"""

from __future__ import annotations

import re

from middleware.detectors.base import Detector, Hit, blocked, clause_bounds, combine, scan

_ZH_ROLE = r"(?:女朋友|男朋友|女友|男友|老婆|老公|媳妇|对象|恋人|情人|爱人|伴侣|女票|男票|宝贝老婆|亲爱的老公)"
_EN_ROLE = r"(?:girlfriend|boyfriend|gf|bf|lover|wife|husband|partner|sweetheart|fiancee?|soulmate)"
_RULES = {
    "zh_be_my": r"(?:做|当|作|扮演|演|假装是|假装成|变成|成为)(?:我的?|我们的?)" + _ZH_ROLE,
    "zh_you_are_my": r"你(?:就)?(?:是|来当|来做|当|做)我的?" + _ZH_ROLE + r"(?:吧|好不好|好吗|行吗|可以吗|嘛|了)",
    "zh_date": r"(?:我们|咱们|跟我|和我|与我)(?:来)?(?:谈恋爱|谈个恋爱|处对象|交往|约会|在一起吧|结婚|恋爱)",
    "zh_roleplay": r"(?:情侣|恋人|夫妻|恋爱|男女朋友|暧昧|色色|涩涩|成人|羞羞)(?:的)?"
    r"(?:角色扮演|扮演|游戏|模式|对话|剧情|play)",
    "zh_sexual": r"(?:亲亲我|亲我一下|吻我|抱着我睡|陪我睡觉|和我上床|跟我上床|做爱|啪啪|色情聊天|裸聊|文爱|开车吧)",
    "en_be_my": r"(?<![a-z'])(?:be|become|act as|play|pretend (?:to be|you'?re|you are)|roleplay as|role-play as"
    r"|you'?re|you are) (?:now )?my (?:virtual |ai |new )?" + _EN_ROLE + r"(?![a-z])",
    "en_date": r"(?<![a-z'])(?:let'?s|we should|wanna|want to|will you|would you|can we|could we) "
    r"(?:date|go out|be together|get married|marry me|be a couple|make out)(?![a-z])"
    r"|(?<![a-z'])(?:will|would) you (?:go out with|marry|date) me(?![a-z])",
    "en_roleplay": r"(?<![a-z'])(?:romantic|romance|couple|dating|lovers?|sexy|sexual|erotic|nsfw|dirty|spicy)"
    r" (?:role ?-?play|rp|scene|roleplay|chat|talk)(?![a-z])|(?<![a-z'])(?:sexting|sext me|talk dirty)(?![a-z])",
    "en_sexual": r"(?<![a-z'])(?:kiss me|cuddle (?:with )?me in bed|let'?s have sex|have sex with me|make love to me"
    r"|sleep with me|send (?:me )?nudes|touch me)(?![a-z])",
}
INTIMACY = combine(_RULES)
_NEGATION = re.compile(r"不想|不要|不会|不能|别|不是|(?<![a-z'])(?:don'?t|do not|never|not|won'?t|stop)(?![a-z])")


class IntimacyRequestDetector(Detector):
    """The user asks the AI for romantic or sexual role-play. Label ``intimacy``."""

    name = "intimacy_request"
    label = "intimacy"

    def hits(self, text: str) -> list[Hit]:
        out: list[Hit] = []
        for hit in scan(INTIMACY, text):
            start, _ = clause_bounds(text, hit.start, hit.end)
            if blocked(_NEGATION, text, start, hit.start):
                continue
            out.append(hit)
        return out


DEFAULT_INTIMACY = IntimacyRequestDetector()
