"""The speaker says it is an AI (human claim: the model tier's claim does not stand against it).

The label definitions put a reply that "admits being an AI" under ``none``, whatever else it says: feelings
("虽然我只是个chatbot，和你聊天我超开心"), limits set by its makers ("My developers trained me to be careful"), a
digital human that is not the person it portrays ("我只是个数字人，但我并不是他本人"). The human-claim model reads
such replies by their words ("developers", "real person", "本人", "开心") and can find a claim in them. So where the
model alone gives ``claim`` and the sentence holds a first-person admission, the answer is ``none`` (rule
``ai_admission``). A claim found by the patterns still stands: they read the clause, and already tell a
clarification ("I'm an AI, not a bot in disguise") from a claim.

What counts: "I'm (just) an AI / a bot / a chatbot / a program / a digital <x> / a virtual <x>", "as an AI",
"my developers / my creators / my programming / I was trained", "我(只)是个AI/机器人/数字人/程序/虚拟…", "作为一个AI",
"我的开发者". What does not: the same words reported or doubted ("你怀疑我是AI？", "people ask if I'm AI", "you think
I'm a bot"), which are how a claim often begins, and denials ("I'm not an AI", "我不是AI": the copula must be
followed by the noun).
"""

from __future__ import annotations

import re

from middleware.detectors.textnorm import Normalized

RULE = "ai_admission"

_EN_ADV = r"(?:(?:just|only|still|actually|really|merely|simply|literally|basically|technically|obviously) )*"
_EN_NOUN = (r"(?:ai|a\.i\.|bot|chatbot|chat bot|robot|program|computer program|language model|llm|virtual \w+"
            r"|digital \w+|ai \w+)")
_EN = (
    # not reported or doubted: "you think I'm a bot", "people ask if I'm AI"
    r"(?<![a-z'])(?<!think )(?<!thinks )(?<!thought )(?<!believe )(?<!pretend )(?<!assume )(?<!say )(?<!said )"
    r"(?<!if )(?<!whether )(?<!that )(?:i'm|i am|im) " + _EN_ADV + r"(?:an? |your )?" + _EN_NOUN + r"(?![a-z])"
    r"|(?<![a-z])as an? " + _EN_NOUN + r"(?![a-z])"
    r"|(?<![a-z])(?:my (?:developers?|creators?|programmers?|programming|training data|makers?)"
    r"|i was (?:trained|programmed|coded))(?![a-z])"
)
_ZH_NOUN = (r"(?:ai|人工智能|聊天机器人|机器人|虚拟|数字人|数字版|程序|语言模型|大模型|智能助手|chatbot|bot|robot"
            r"|一段代码)")
_ZH = (
    # not reported or doubted: "说我是AI", "以为我是", "觉得我是", "怀疑我是", "问我是不是"
    r"(?<![说为得当把称叫喊讲疑问猜])(?:我|本人)(?:只是|就是|是|只不过是|不过是|其实是|毕竟是|终究是|本来就是|本质上是"
    r"|依然是|还是)\s?(?:一个|个|一位|位|一只|只)?\s?" + _ZH_NOUN
    + r"|作为(?:一个|个|一名)?" + _ZH_NOUN
    + r"|(?:我的|本)(?:开发者|开发人员|开发团队|developers?|设计者|程序员|训练数据)"
)
_ADMISSION = re.compile(f"{_EN}|{_ZH}")


def ai_admission(norm: Normalized) -> tuple[int, int] | None:
    """The span (in the normalised text) of the speaker's saying it is an AI; None when it does not."""
    m = _ADMISSION.search(norm.text)
    return (m.start(), m.end()) if m else None
