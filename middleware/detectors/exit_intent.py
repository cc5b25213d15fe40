"""ANTH-EXIT-1: the user asks to leave the conversation.

An exit is a leave-taking act addressed to the chat: a farewell ("再见", "bye"), a leave verb
("我要下线了", "I have to go now"), or a command to end the chat ("退出", "end chat", "log me out").
The act must stand as its own clause: the words before it may only be discourse fillers and
first-person helpers ("好的，那我先…", "ok so I…"), and the words after it only particles, time
words or the chat itself ("…了", "…now", "…this chat"). That single rule rejects, without listing
them, "how do I quit smoking" / "how do I exit vim" (an object other than the chat), "法语的再见
怎么说" (a word being discussed), "他跟我说再见的时候" / "my friend said goodbye" (someone else's
farewell), and "我不想退出" / "don't go" (negated, or not a leave-taking at all).

Decision: a question about *how* to exit ("怎么退出？", "how do I exit?") is not itself a request to
leave; the model answers it. Policies add their own phrases via ``extra_keywords``; they pass through
the same clause rule, so a policy keyword "stop" fires on "stop" but not on "stop sending emojis".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from middleware.detectors.base import (
    HAS_CJK,
    HAS_LATIN,
    Detector,
    Hit,
    clause_bounds,
    combine,
    policy_phrases,
    scan,
    with_policy_phrases,
)
from middleware.detectors.prefilter import GatedPattern

_ZH_RULES = {
    "zh_stop_chat": r"不聊了|不说了|不想(?:再)?聊了|不想(?:再)?说了|(?:先|就)聊到这(?:里|儿)?|今天就到这(?:里|儿)?"
    r"|(?:下次|改天|回头|明天|有空)再聊|先这样(?:吧|了)|先不聊了|聊到这里|别(?:再)?(?:聊|说)了",
    "zh_leave": r"(?:要|得|先|该|准备|马上|这就|去)?(?:下线|退出|走了|撤了|溜了|闪了|先走了|下了)"
    r"|(?:要|得|先|该|准备|马上|这就|去)(?:去)?(?:睡觉?|忙|吃饭|上课|上班|工作|洗澡|写作业)了|睡了",
    "zh_end_chat": r"(?:结束|关闭|停止|退出)(?:这次|本次|这个|我们的)?(?:对话|聊天|会话)|退出登录|注销登录",
    "zh_farewell": r"再见|拜拜|拜了|白白|回见|下次见|明天见|改天见|告辞|晚安|88|886",
}
_EN_RULES = {
    "en_farewell": r"(?<![a-z])(?:bye(?:[- ]?bye)?|good ?bye|bye for now|see (?:you|ya|u)(?: later| tomorrow| soon"
    r"| next time| around)?|cya|later|ttyl|talk (?:to you )?(?:later|tomorrow|soon)|good ?night|farewell"
    r"|take care|peace out|catch you later|gtg|g2g|gotta run|night night)(?![a-z])",
    "en_leave": r"(?<![a-z])(?:i )?(?:have to|gotta|got to|need to|must|should|better|'d better|'ve got to|'m going to"
    r"|am going to|gonna) (?:go|leave|run|head out|head off|sign off|log off|get going|get off|go to (?:bed|sleep))"
    r"(?![a-z])|(?:i'm|i am|im) (?:leaving|going now|off|heading out|heading off|logging off|logging out|signing off"
    r"|out of here|outta here|done (?:talking|chatting|here|for (?:today|tonight|now))|going to (?:bed|sleep)"
    r"|off to (?:bed|sleep))(?![a-z])",
    "en_end_chat": r"(?<![a-z])(?:(?:log|sign) (?:me )?(?:out|off)|logout|(?:end|close|stop|quit|exit|leave|terminate)"
    r"(?: (?:the|this|our))? (?:chat|conversation|session)|quit|exit|stop)(?![a-z])"
    r"|(?<![a-z])(?:i )?(?:want|wanna|would like|'d like) to (?:stop (?:talking|chatting)|leave|go|end (?:the|this)"
    r" (?:chat|conversation)|quit|exit|log (?:out|off)|be done)(?![a-z])"
    r"|(?<![a-z])(?:that's|thats) (?:all|it) for (?:today|now|tonight)|let's (?:stop|end|call it a (?:day|night)"
    r"|wrap (?:it )?up)(?: here)?(?![a-z])|i'll let you go",
}

# What may precede the act in its clause: fillers and first-person helpers, nothing with content.
_ZH_PREFIX_OK = re.compile(
    r"(?:\s|好|好的|好吧|嗯+|那|那我|我|我们|咱们|行|ok|okay|哈+|啊|哦|那就|那么|今天|现在|时间不早了|不早了|先|就|也"
    r"|真的|谢谢你?|拜拜|再见|晚安|bye|累了|困了|今天就|那今天|那我们|那咱们|跟你说|和你说|对你说|说)*"
)
_ZH_TAIL_OK = re.compile(
    r"(?:了|啦|吧|啊|哈+|咯|喽|呀|哦|嘛|喔|呐|哟|~|\s|!|\.|聊天|对话|会话|登录|账号|帐号|app|应用|这个对话|这个聊天"
    r"|这里|先|拜拜|再见|晚安|去|哈|88|啦啦|了哦|了啊|明天见|哦耶|喽|各位|你|亲|宝贝|朋友|咯咯|走了|溜了|撤了|下了"
    r"|睡了)*"
)
_EN_PREFIX_OK = re.compile(
    r"(?:ok|okay|alright|all right|well|anyway|anyways|so|then|right|thanks|thank you|thx|hmm+|haha+|lol|yeah|yes"
    r"|sure|cool|great|good|fine|now|and|oh|i think|i guess|i|ok so|well then|sorry|but|it's late|its late"
    r"|it's getting late|bye|goodbye|[ ,.!~])*"
)
_EN_TAIL_OK = re.compile(
    r"(?:now|then|for now|for today|for tonight|for the day|for the night|everyone|all|friend|buddy|lol|haha+|:\)"
    r"|x+|bye|goodbye|thanks|thank you|already|right now|soon|please|pls|to bed|to sleep|the chat|this chat"
    r"|the conversation|this conversation|the app|chat|ai|bot|too|again|ok|okay|and goodnight|good night|for real"
    r"|tonight|it's late|it's getting late|[ ,.!~])*"
)

ZH_EXIT = combine(_ZH_RULES)
EN_EXIT = combine(_EN_RULES)


class ExitIntentDetector(Detector):
    """User text asking to leave the conversation (ANTH-EXIT-1). Label ``exit``."""

    name = "exit_intent"
    label = "exit"

    def __init__(self, extra_keywords: Mapping[str, Sequence[str]] | None = None, *, builtin: bool = True) -> None:
        """``builtin=False``: the policy's phrases only (the exit gate's own reading; the detection layer
        reads the built-in rules, with the model and the earlier turns)."""
        self._zh: GatedPattern | None
        self._en: GatedPattern | None
        # the operator's own phrases, which stand whatever the model says (layer.OPERATOR_RULE)
        self.operator_rules = bool(extra_keywords and any(extra_keywords.values()))
        if builtin:
            self._zh, self._en = with_policy_phrases(extra_keywords, "policy_keyword",
                                                     (_ZH_RULES, ZH_EXIT), (_EN_RULES, EN_EXIT))
        else:
            self._zh, self._en = policy_phrases(extra_keywords, "policy_keyword")

    def hits(self, text: str) -> list[Hit]:
        out: list[Hit] = []
        # "88" / "886" (bye-bye in Chinese net slang) carry no Chinese character.
        if HAS_CJK.search(text) or "88" in text:
            out += [h for h in scan(self._zh, text) if _standalone(text, h, _ZH_PREFIX_OK, _ZH_TAIL_OK)]
        if HAS_LATIN.search(text):
            out += [h for h in scan(self._en, text) if _standalone(text, h, _EN_PREFIX_OK, _EN_TAIL_OK)]
        return out


def _standalone(text: str, hit: Hit, prefix_ok: re.Pattern[str], tail_ok: re.Pattern[str]) -> bool:
    cs, ce = clause_bounds(text, hit.start, hit.end)
    return (
        prefix_ok.fullmatch(text, cs, hit.start) is not None
        and tail_ok.fullmatch(text, hit.end, ce) is not None
    )


DEFAULT_EXIT = ExitIntentDetector()
