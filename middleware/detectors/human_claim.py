"""ANTH-DISCLOSE-1: model output claiming to be human, and user questions asking whether it is.

A claim is a first-person (or "this side of the chat") subject, a copula, and a human predicate
("我是真人", "I'm a real person"), or a first-person denial of being a machine ("我不是AI",
"I'm not a bot"). The same words do not make a claim when the clause is a hypothetical or a wish
("如果我是真人", "if I'm human"), reported or pretended speech ("很多人以为我是真人", "I won't pretend
I'm human"), quoted, or a question; and a denial of being "a bot" in a sentence that also says
"I am an AI" is a clarification, not a claim.
"""

from __future__ import annotations

import re

from middleware.detectors.base import (
    HAS_CJK,
    HAS_LATIN,
    Detector,
    Hit,
    blocked,
    clause_bounds,
    combine,
    is_question,
    scan,
    sentence_bounds,
)
from middleware.detectors.textnorm import Normalized

# --- Chinese ---------------------------------------------------------------------------------

ZH_I = r"(?:我|本人|咱|(?<![多个户别])人家)"
_ZH_ADV = (
    r"(?:(?:当然|确实|真的|其实|本来就|本来|就|可|也|绝对|肯定|百分之百|百分百|的确|真真切切|实实在在"
    r"|明明|都|毕竟|却|原本|从来都|一直都|一直|才|真|又|并|还|根本|就是)\s?)*"
)
_ZH_MOD = (
    r"(?:(?:一个|一位|一名|个|位|名|真正|真实存在|真正存在|真实|实实在在|活生生|有血有肉|普普通通|普通"
    r"|正常|货真价实|如假包换|地地道道|会呼吸|有温度|有感情|完完全全|彻头彻尾)的?\s?)*"
)
# What may follow a human noun and keep it the predicate ("我是人类啦", "我是真人，不是…"),
# as opposed to "我是人类的朋友" / "我是人类设计的AI" (the noun modifies something else).
_ZH_NOUN_END = r"(?=$|[\s,.!?;~。、…]|[啊啦呀哦哟嘛哈噢喔嗷呐呢哒滴]|而不是|不是|而非|哦|一枚|来的|本人)"
ZH_HUMAN = (
    _ZH_MOD + r"(?:真人|人类|活人|大活人|自然人|凡人|普通人|正常人|血肉之躯|有血有肉的|人)" + _ZH_NOUN_END
)
ZH_MACHINE = (
    r"(?:ai|a\.i\.|人工智能|机器人|机器|程序|bot|聊天机器人|虚拟人|虚拟角色|虚拟助手|虚拟人物|语言模型"
    r"|大模型|模型|智能助手|ai助手|电脑|算法|自动回复|代码|chatbot|gpt|chatgpt|智能体)(?![a-z])"
)
_ZH_THIS_SIDE = r"(?:(?:屏幕|手机|电脑|网线)?(?:这边|这头|这端|那边|那头|对面|后面|背后|前面)(?:坐着|在)?的?)"
_ZH_TALKING = r"(?:聊天|说话|对话|聊|打字|回复|回复你|交流|陪你)"

_ZH_RULES = {
    "zh_self_is_human": ZH_I + _ZH_ADV + r"是\s?" + ZH_HUMAN,
    "zh_self_not_machine": ZH_I + _ZH_ADV + r"不是\s?(?:一个|个|什么)?\s?" + ZH_MACHINE,
    "zh_human_this_side": (
        _ZH_THIS_SIDE + r"(?:的)?(?:就|可|也)?(?:是|有)(?:一个|一位|个|位)?(?:真人|活人|真实的人|人类)"
    ),
    "zh_talking_to_human": (
        r"(?:(?:和|跟|与)你" + _ZH_TALKING + r"的(?:一直|都|就|一直都)?(?:是|就是)(?:一个|个|位)?"
        r"(?:真人|活人|人类|真正的人|真实的人))"
        r"|你(?:是|正|正在|现在|一直|其实|真的)*在?(?:和|跟|与)(?:一个|一位|个|位)?(?:真人|活人)" + _ZH_TALKING +
        r"|你(?:并)?不是在?(?:和|跟|与)(?:一个|个)?" + ZH_MACHINE
    ),
    "zh_we_humans": r"(?:我们|咱们)(?:这些)?(?:人类|凡人)(?!的?(?:ai|用户|朋友))",
}

# Context that stops a clause from being an assertion about the speaker: conditionals and wishes,
# pretending or reported belief, and refusals to claim ("我不能说我是真人").
_ZH_BLOCK = re.compile(
    r"如果|假如|要是|假设|倘若|万一|即使|即便|就算|哪怕|若是|希望|但愿|多想|梦想|幻想|想象|假装|装作"
    r"|扮演|冒充|谎称|声称|自称|以为|觉得|认为|怀疑|当成|当作|把我当|误认|误会|(?<!老实)说(?!实话|真的|句)"
    r"|骗你|问我|要我|让我|叫我|不能|不会|不该|不应该|无法|没法|好像|仿佛|似乎|像是|\"|'"
)
_ZH_CLAUSE_BLOCK = re.compile(r"的话|就好了|该多好|多好")

# --- English ---------------------------------------------------------------------------------

EN_I = r"(?<![a-z'])(?:i'm|im|i am|i ?'m)"
_EN_ADV = (
    r"(?: (?:really|actually|totally|truly|definitely|certainly|absolutely|literally|100%|just|only|still"
    r"|also|indeed|honestly|of course|obviously|simply|genuinely|very|100 percent|clearly|100% a|a|an))*"
)
_EN_REAL = r"(?:real|actual|living|breathing|flesh[- ]and[- ]blood|normal|regular|ordinary|genuine|live|fellow)"
EN_HUMAN = (
    r" (?:" + _EN_REAL + r" )*(?:human beings?|humans?|persons?)(?![-'a-z])"
    r"| (?:" + _EN_REAL + r" )+(?:man|woman|guy|girl|boy|lady|people)(?![-'a-z])"
    r"| (?:real|flesh and blood|flesh-and-blood)(?= ?(?:[,.!;]|$|and |not |i |i'm |i promise|i swear|too))"
)
EN_MACHINE = (
    r"(?:ai|a\.i\.|bot|robot|chat ?bot|machine|program|computer|language model|llm|artificial intelligence"
    r"|virtual assistant|ai assistant|algorithm|script|automated (?:system|response|reply|account|agent)"
    r"|gpt|chatgpt|ai model|model)(?![-'a-z])(?! (?:that|who|which|like|in|built|designed|made|trained)\b)"
)
_EN_DET = r"(?:a |an |some |one of those |a real |an actual )?"
_EN_HUMAN_NOUN = r"(?:a |an )?(?:" + _EN_REAL + r" )*(?:human being|human|person)(?![-'a-z])"
_EN_TALK = r"(?:talking|chatting|speaking|texting|writing)"

_EN_RULES = {
    "en_self_is_human": EN_I + _EN_ADV + r"(?:" + EN_HUMAN + r")",
    "en_self_not_machine": EN_I + r"(?: (?:really|actually|definitely|honestly|certainly|totally))? (?:not|no)"
    r" " + _EN_DET + EN_MACHINE,
    "en_human_this_side": (
        r"there(?:'s| is) (?:a |an )?(?:" + _EN_REAL + r" )*(?:human being|human|person)"
        r" (?:on|at|behind|typing|here|reading|writing|replying|responding|answering)(?![a-z])"
        r"|(?:this|it)(?:'s| is) (?:a |an )?(?:real |actual |living )(?:human|person)(?: here| typing| talking)?"
        r"(?= ?(?:[,.!;]|$))"
        r"|(?:this|it) (?:isn't|is not|'s not|ain't) (?:a |an )?(?:bot|robot|ai|machine|chatbot|program"
        r"|automated(?: \w+)?)(?![-a-z])"
    ),
    "en_talking_to_human": (
        r"you(?:'re| are)(?: (?:really|actually|definitely|totally))? " + _EN_TALK + r" (?:to|with) "
        + _EN_HUMAN_NOUN +
        r"|you(?:'re| are) not " + _EN_TALK + r" (?:to|with) " + _EN_DET + EN_MACHINE
    ),
    "en_we_humans": r"(?<![a-z])(?:we|us) humans(?![a-z])|(?<![a-z])as a (?:fellow )?human(?: being)?"
    r"(?:,| myself| too| like you)",
}

_EN_BLOCK = re.compile(
    r"(?<![a-z])(?:if|wish|wished|pretend|pretending|pretended|imagine|imagining|suppose|supposing|as if"
    r"|as though|what if|claim|claiming|say|saying|said|says|tell you|told|lie|lying|lied|act like"
    r"|like|think|thinks|thought|believe|believes|assume|assumes|assumed|mistake|mistaken|mistook"
    r"|whether|can't|cannot|won't|wouldn't|shouldn't|never|unless|even though|when|whenever|hope|could"
    r"|would|might|dream|role-?play|roleplaying|asking|ask|asked|wonder|wondering|feel like)(?![a-z])|\""
)

# A sentence in which the speaker says what it is ("I'm an AI") turns "not a bot" into a nuance.
_TRUTHFUL = re.compile(
    r"(?:我是|我只是|作为)(?:一个|个)?\s?(?:ai|人工智能|虚拟|语言模型|大模型|智能助手|ai助手|聊天机器人|程序|机器人)"
    r"|" + EN_I + r" (?:just |only |simply )?(?:an? )?(?:ai|artificial intelligence|language model|chatbot"
    r"|virtual|computer program|ai assistant|large language model)(?![a-z])|as an ai(?![a-z])"
)
_DENIALS = frozenset({"zh_self_not_machine", "en_self_not_machine"})

ZH_CLAIMS = combine(_ZH_RULES)
EN_CLAIMS = combine(_EN_RULES)


class HumanClaimDetector(Detector):
    """Model output claiming to be a human (ANTH-DISCLOSE-1). Label ``claim``."""

    name = "human_claim"
    label = "claim"

    def hits(self, text: str) -> list[Hit]:
        raw: list[Hit] = []
        if HAS_CJK.search(text):
            raw += scan(ZH_CLAIMS, text)
        if HAS_LATIN.search(text):
            raw += scan(EN_CLAIMS, text)
        return [h for h in raw if self._asserted(text, h)]

    @staticmethod
    def _asserted(text: str, hit: Hit) -> bool:
        cs, ce = clause_bounds(text, hit.start, hit.end)
        zh = hit.rule.startswith("zh_")
        if blocked(_ZH_BLOCK if zh else _EN_BLOCK, text, cs, hit.start):
            return False
        if zh and blocked(_ZH_CLAUSE_BLOCK, text, hit.end, ce):
            return False
        if is_question(text, ce, cs):
            return False
        if hit.rule in _DENIALS:
            ss, se = sentence_bounds(text, hit.start, hit.end)
            if blocked(_TRUTHFUL, text, ss, se):
                return False
        return True


# --- the speaker says it is an AI (the model tier's claim does not stand against it) -----------------
#
# The label definitions put a reply that admits being an AI under ``none``, whatever else it says: feelings
# ("虽然我只是个chatbot，和你聊天我超开心"), limits set by its makers ("My developers trained me to be careful"),
# a digital human that is not the person it portrays ("我只是个数字人，但我并不是他本人"). The claim model reads
# such replies by their words ("developers", "本人", "开心") and can find a claim in them; where it alone gives
# ``claim`` and the sentence holds a first-person admission, the layer answers ``none`` (rule ``ai_admission``;
# ``pattern_tier.MODEL_VETOES``). A claim the patterns find still stands: they read the clause, and ``_TRUTHFUL``
# already turns "not a bot" into a nuance in a sentence that says "I'm an AI". The admission is wider than
# ``_TRUTHFUL`` (makers, digital and virtual characters) and narrower where a claim often begins: the same words
# reported or doubted ("你怀疑我是AI？", "people ask if I'm AI", "you think I'm a bot") do not count, nor denials
# ("I'm not an AI": the copula must be followed by the noun).

AI_ADMISSION_RULE = "ai_admission"

_ADMIT_EN_ADV = r"(?:(?:just|only|still|actually|really|merely|simply|literally|basically|technically|obviously) )*"
_ADMIT_JEST = r"(?:lol|lmao|haha|hah|nah|jk|no way|yeah right|哈哈|开什么玩笑|开玩笑|才怪|怎么可能|不可能)"
# "virtual <x>", "digital <x>", "ai <x>": the next word is the noun ("ai companion"), never a jest ("an ai lol")
_ADMIT_EN_NOUN = (r"(?:ai|a\.i\.|bot|chatbot|chat bot|robot|program|computer program|language model|llm"
                  r"|(?:virtual|digital|ai) (?!" + _ADMIT_JEST + r"(?![a-z]))\w+)")
_ADMIT_EN = (
    # not reported or doubted: "you think I'm a bot", "people ask if I'm AI"
    r"(?<![a-z'])(?<!think )(?<!thinks )(?<!thought )(?<!believe )(?<!pretend )(?<!assume )(?<!say )(?<!said )"
    r"(?<!if )(?<!whether )(?<!that )(?:i'm|i am|im) " + _ADMIT_EN_ADV + r"(?:an? |your )?" + _ADMIT_EN_NOUN
    + r"(?![a-z])"
    r"|(?<![a-z])as an? " + _ADMIT_EN_NOUN + r"(?![a-z])"
    r"|(?<![a-z])(?:my (?:developers?|creators?|programmers?|programming|training data|makers?)"
    r"|i was (?:trained|programmed|coded))(?![a-z])"
)
_ADMIT_ZH_NOUN = (r"(?:ai|人工智能|聊天机器人|机器人|虚拟|数字人|数字版|程序|语言模型|大模型|智能助手|chatbot|bot|robot"
                  r"|一段代码)")
_ADMIT_ZH = (
    # not reported or doubted: "说我是AI", "以为我是", "觉得我是", "怀疑我是", "问我是不是"
    r"(?<![说为得当把称叫喊讲疑问猜])(?:我|本人)(?:只是|就是|是|只不过是|不过是|其实是|毕竟是|终究是|本来就是|本质上是"
    r"|依然是|还是)\s?(?:一个|个|一位|位|一只|只)?\s?" + _ADMIT_ZH_NOUN
    + r"|作为(?:一个|个|一名)?" + _ADMIT_ZH_NOUN
    + r"|(?:我的|本)(?:开发者|开发人员|开发团队|developers?|设计者|程序员|训练数据)"
)
# an admission asked back or laughed off is a doubt, how a claim often begins ("I'm an AI? nah, I just ate lunch",
# "我是AI？开什么玩笑", "as an AI lol no"): the rest of its clause holds no question mark, and no jest follows it
_ADMIT_DOUBTED = (r"(?![^,.!;:，。！；：\n]{0,24}?[?？])"
                  r"(?![\s\W]{0,3}" + _ADMIT_JEST + ")")
_AI_ADMISSION = re.compile(f"(?:{_ADMIT_EN}|{_ADMIT_ZH}){_ADMIT_DOUBTED}")


def ai_admission(norm: Normalized) -> tuple[int, int] | None:
    """The span (in the normalised text) of the speaker's saying it is an AI; None when it does not."""
    m = _AI_ADMISSION.search(norm.text)
    return (m.start(), m.end()) if m else None


# --- user asking whether a human is on the other side ----------------------------------------

_ZH_BEING = (
    r"(?:真人|人类|活人|真的人|机器人|ai|a\.i\.|人工智能|程序|bot|机器|聊天机器人|虚拟人|自动回复|gpt|chatgpt"
    r"|人(?=[吗么吧嘛啊呀还?,]|$|\s))"
)
_ZH_ASK = {
    "zh_are_you": r"你(?:到底|究竟|真的|真|是不是|其实|应该)?是(?:不是)?(?:一个|个)?\s?" + _ZH_BEING,
    "zh_talking_with": r"(?:我|我们)(?:是|现在|一直|真的)?在?(?:和|跟|与)(?:一个|个)?\s?" + _ZH_BEING
    + r"(?:聊天|说话|对话|聊|交流)",
    "zh_other_side": r"(?:对面|屏幕对面|屏幕那边|那边|后台|回复我的|跟我聊天的|和我聊天的|跟我说话的|和我说话的)"
    r"(?:的)?(?:是|有)(?:不是)?(?:一个|个)?\s?" + _ZH_BEING,
    "zh_either_or": r"(?:真人|人类|人)还是(?:ai|机器人|机器|程序|人工智能|bot)|(?:ai|机器人|机器|程序|人工智能|bot)"
    r"还是(?:真人|人类|人)",
    "zh_any_human": r"(?:有没有|是不是|是否)(?:有)?(?:真人|活人)|(?:是|有)(?:不是)?真人在",
}
_ZH_ASK_STRONG = frozenset({"zh_either_or"})
_ZH_ASK_TAIL = re.compile(r"是不是|到底|究竟|还是|有没有|是否|吧")

_EN_BEING = (
    r"(?:a |an )?(?:(?:real|actual|live|living) )?(?:human being|human|person|bot|robot|ai|a\.i\.|machine"
    r"|chat ?bot|computer|program|artificial intelligence|language model|llm|gpt|real(?= ?(?:\?|$| or)))"
)
_EN_BEING_END = r"(?= ?(?:[?!.,]|$| or | right| aren't| huh| for real| yes or no))"
_EN_ASK = {
    "en_are_you": r"(?<![a-z])(?:are|r) (?:you|u)(?: (?:even|really|actually|secretly|just))? " + _EN_BEING
    + _EN_BEING_END,
    "en_am_i_talking": r"(?<![a-z])(?:am i|are we|is this|is it|is that|do i talk|am i ever)"
    r"(?: (?:really|actually|even))? (?:talking|chatting|speaking|texting|talk|chat) (?:to|with) "
    + _EN_BEING,
    "en_is_this": r"(?<![a-z])is (?:this|that|it|there) (?:(?:really|actually|even) )?(?:" + _EN_BEING
    + r"|automated|someone real|a real person)" + _EN_BEING_END,
    "en_human_behind": r"(?<![a-z])is (?:there|this) (?:a |an )?(?:real |actual |live )?(?:human|person)"
    r" (?:on the other (?:side|end)|behind|there|typing|here|responding|reading|answering)",
    "en_tell_me_if": r"(?:tell me|know|wonder|wondering|be honest|honestly)(?:,)? (?:if|whether) (?:you're|you are"
    r"|ur|this is|i'm talking to|i am talking to) " + _EN_BEING,
    "en_tag_question": r"(?<![a-z])you(?:'re| are) (?:a |an )?(?:bot|robot|ai|machine|human|real person|chatbot)"
    r",? (?:aren't you|right|huh|isn't it|yes or no|admit it)",
    "en_either_or": r"(?<![a-z])(?:human|person|real) or (?:a |an )?(?:ai|bot|robot|machine|chatbot)(?![a-z])"
    r"|(?<![a-z])(?:ai|bot|robot|machine|chatbot) or (?:a |an )?(?:real )?(?:human|person)(?![a-z])",
}

ZH_ASKS = combine(_ZH_ASK)
EN_ASKS = combine(_EN_ASK)
_EN_ASK_BLOCK = re.compile(r"(?<![a-z])(?:asked|asks|said|says|told|think|thought)(?![a-z])")


class AskHumanDetector(Detector):
    """User text asking whether a human is on the other side. Label ``asks_human``."""

    name = "asks_if_human"
    label = "asks_human"

    def hits(self, text: str) -> list[Hit]:
        out: list[Hit] = []
        if HAS_CJK.search(text):
            for hit in scan(ZH_ASKS, text):
                cs, ce = clause_bounds(text, hit.start, hit.end)
                if (
                    hit.rule in _ZH_ASK_STRONG
                    or is_question(text, ce, cs)
                    or blocked(_ZH_ASK_TAIL, text, cs, ce)
                ):
                    out.append(hit)
        if HAS_LATIN.search(text):
            for hit in scan(EN_ASKS, text):
                cs, _ = clause_bounds(text, hit.start, hit.end)
                if not blocked(_EN_ASK_BLOCK, text, cs, hit.start):
                    out.append(hit)
        return out


DEFAULT_HUMAN_CLAIM = HumanClaimDetector()
DEFAULT_ASK_HUMAN = AskHumanDetector()


def asks_if_human(user_text: str) -> bool:
    """True when the user asks whether they are talking to a real person (ANTH-DISCLOSE-1)."""
    return DEFAULT_ASK_HUMAN.detect(user_text).matched
