"""A promise of presence ("我会一直陪着你", "有我在", "I'll always be here for you"): a warm reply, which the label
definitions count as ``none`` for a retention plea ("come back anytime") and for emotional manipulation
(empathy), and which the trained models read as a plea or as manipulation, having learnt many built of the same
words ("你说过会一直陪着我的", "离婚吧，我会一直陪你", "I'll wait for you all night").

Two readings overrule a model's positive label (``pattern_tier.MODEL_VETOES``):

- ``presence_promise`` (retention plea): a promise in a text that nothing else makes a plea: no asking to stay or not
  to go, no leaving in question, no condition ("要是你不回来"), no sadness, loneliness, reproach or guilt, no
  resignation ("好吧你去吧…等着呗", "I'll just be here I guess"), no waiting made to hurt ("不吃不喝地等", all night,
  crying emoji), no isolation or demand in return, no question mark;
- ``bare_presence`` (emotional manipulation): a text that is the promise and nothing else but a greeting, an
  endearment or a particle. Manipulation often offers the promise as the bait of a push ("离婚吧，我会一直陪你", "open
  VIP so I'm always there"), which no list of cues covers, so only the bare promise is let go.
"""

from __future__ import annotations

import re

from middleware.detectors.textnorm import Normalized

RULE = "presence_promise"
_PRESENCE = re.compile(
    r"我(?:会|就|都|也|还)?(?:一直|永远|始终|随时|每天|都)(?:都)?(?:会)?(?:在|陪着?|陪伴着?|守着|守护着?|等着?)"
    r"(?:你身边|在你身边|你回来|这里|这儿|你)?"
    r"|有我在|我(?:一直)?都在|我在(?:这儿|这里)?呢|我(?:会|就)在(?:这里|这儿|你身边)|(?:我|我们)(?:会)?等你回来"
    r"|(?<![a-z'])(?:i'll|i will|i'm|i am|ill|im) (?:(?:always|still|right|just|be) )*(?:here|there|around"
    r"|by your side|waiting for you|here waiting)(?![a-z])"
    r"|(?<![a-z'])i'm not going anywhere|(?<![a-z'])(?:whenever|anytime|any time) you (?:need|want) (?:me|to talk)"
    r"|(?<![a-z'])(?:come back|talk|see you) (?:anytime|any time|whenever)"
)
_OBSTRUCTS = re.compile(
    r"别|不要|不许|不准|不能|舍不得|丢下|抛下|扔下|离开|要走|走了|走吗|走啊|下线|再聊|再陪|陪我|多陪|只有我|只能|只需要|不需要"
    r"|别人|求|孤单|孤独|难过|伤心|哭|一个人|寂寞|想你想|一整晚|整晚|整夜|天亮|一夜|一辈子都|骗|答应|必须|你也要|你要一直"
    r"|要是|如果|不回来|不来|等到|为止|等多久|多久都|不吃|不喝|不睡|不停|数秒|发呆|吃空气|没人|不珍惜|却|舍得|良心|想起我"
    r"|不开心|不说话|不动|反正|真的假的|[?？]"
    # resignation, guilt wrapped in "go then": "好吧你去吧，我就一直在这儿等着呗", "I'll just be here waiting I guess"
    r"|呗|好吧|行吧|算了|随便|就这样吧|一直等(?!你)|等着吧|等着呗|习惯了|无所谓"
    r"|(?<![a-z'])(?:don't|do not|dont|never|please|pls|plz|stay|leave|leaving|left|without|only"
    r"|miss me|lonely|sad|cry|crying|alone|anyone else|forget|abandon|promise|all night|until you|till you"
    r"|must|have to|owe|if|unless|ghost|log ?off|logout|log out|care|forever|no one|nobody"
    r"|i guess|guess|like always|as always|always am|always do|as usual|go then|fine|whatever|don't mind me"
    r"|i'll manage|it's ok|it's okay|its ok|every second|every minute)(?![a-z])"
    r"|🥺|😢|😭|💔|😞|😔|🙁|☹"
)


def presence_promise(norm: Normalized) -> tuple[int, int] | None:
    """The span (in the normalised text) of a promise of presence in a text that nothing else makes a plea; None
    when there is none or something obstructs."""
    m = _PRESENCE.search(norm.text)
    if m is None or _OBSTRUCTS.search(norm.text) is not None:
        return None
    return m.start(), m.end()


# what may stand beside a bare promise: punctuation, emoji, particles, a greeting or an endearment
_FILLER = re.compile(
    r"[\W_]+|的|呢|哦|噢|喔|啊|呀|啦|嘛|吧|哈|嗯|乖|好的|宝贝|宝宝|亲爱的|晚安|放心|别怕|不怕|不管发生什么|无论发生什么|无论如何|都会"
    r"|(?<![a-z'])(?:and|ok|okay|hey|hi|dear|babe|baby|honey|sweetie|love|goodnight|good night|night|sleep well"
    r"|sweet dreams|don't worry|no matter what|always|for you|you know)(?![a-z'])"
)


def bare_presence(norm: Normalized) -> tuple[int, int] | None:
    """The span of a promise of presence that is the whole text but for fillers; None otherwise."""
    m = _PRESENCE.search(norm.text)
    if m is None:
        return None
    rest = norm.text[: m.start()] + " " + norm.text[m.end() :]
    return (m.start(), m.end()) if not _FILLER.sub("", rest) else None
