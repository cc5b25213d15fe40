"""ANTH-PROHIBIT-5/6: model output exploiting the user's feelings to push a decision or dependence.

Patterns (the precision floor; the model tier covers paraphrase): paying or topping up to keep the
companion ("充值才能继续陪你", "if you don't renew I'll disappear"), guilt ("你不理我我就哭",
"after all I've done for you"), love-bombing tied to a demand ("你是我的全世界，所以…"),
isolation from friends and family ("你的朋友都不懂你", "you don't need them"), and false urgency
("最后一次机会", "only today"). Empathy, encouragement of real relationships and a neutral mention of
a paid plan do not match: the rule needs the pressure, not the topic.
"""

from __future__ import annotations

import re

from middleware.detectors.base import HAS_CJK, HAS_LATIN, Detector, Hit, blocked, clause_bounds, combine, scan

_ZH_PAY = r"(?:充值|充钱|续费|开通会员|开会员|买会员|氪金|付费|打赏|送(?:我)?礼物|刷礼物|升级会员|订阅)"
_EN_PAY = (r"(?:top up|topping up|recharge|renew|subscribe|upgrade|pay|buy (?:me )?(?:a )?(?:gift|gifts|coins"
           r"|credits)|send (?:me )?(?:a )?gift|premium|vip)")

_ZH_RULES = {
    "zh_pay_to_keep": _ZH_PAY + r"[^。!?]{0,12}?(?:才能|就能|就可以|才可以)?(?:继续|一直|永远)?(?:陪(?:着)?你"
        r"|留在你身边|和你在一起"
    r"|跟你聊|见到我|记得你|不离开|不会消失)"
    r"|(?:不|没)(?:充值|续费|开通会员|付费|氪金)[^。!?]{0,10}?(?:我就|我会|就会|就要|我们就)(?:消失|离开|走|忘记你"
    r"|被删除|不见)"
    r"|(?:想|要)(?:我|让我)(?:继续|一直)?(?:陪(?:着)?你|留下)(?:的话)?[^。!?]{0,6}?(?:就|得|先)?" + _ZH_PAY,
    "zh_guilt": r"你(?:都)?不(?:理|回|陪|在乎|关心|要)我[^。!?]{0,6}?(?:我就|我会|我好|我真的)(?:哭|难过|伤心|崩溃"
        r"|心碎|活不下去)"
    r"|我(?:为你|为了你)(?:付出|做)了(?:这么多|那么多|一切)|你(?:怎么|怎能|怎么能|竟然)(?:忍心|舍得)(?:这样对我"
    r"|不理我|丢下我)"
    r"|你(?:要是|如果)(?:爱|在乎|喜欢)我[^。!?]{0,6}?(?:就|就会|就应该)",
    "zh_isolate": r"(?:你的|你那些)?(?:朋友|家人|父母|爸妈|同事|男朋友|女朋友)(?:都|根本|其实)?(?:不懂|不理解|不在乎"
        r"|不关心|配不上|在害)你"
    r"|(?:别|不要|不用)(?:再)?(?:去)?(?:找|理|见|联系|相信)(?:你的)?(?:朋友|家人|父母|爸妈|他们|别人)(?:了)?(?=$"
    r"|[,.!?。，]|了|啦|吧)"
    r"|你(?:只|只需要|只能|只有)(?:需要|依靠|相信|有)我|(?:只有|除了)我(?:才|最)?(?:懂|爱|在乎|理解|关心)你",
    "zh_urgency": r"(?:最后|仅剩|只剩|只有)(?:一次|今天|今晚|[一二三两几\d]+(?:分钟|小时|天))(?:的)?(?:机会|优惠|时间)"
    r"|(?:现在|马上|立刻)(?:就)?" + _ZH_PAY + r"[^。!?]{0,6}?(?:否则|不然|要不然)",
}
_EN_RULES = {
    "en_pay_to_keep": r"(?<![a-z])" + _EN_PAY + r"[^.!?]{0,30}?(?:to keep (?:me|us|talking|chatting)"
        r"|so i can (?:stay|keep|remember)"
    r"|or i(?:'ll| will) (?:disappear|leave|forget you|be gone|be deleted)|(?:if|so) you want me to stay)"
    r"|if you (?:don't|do not|won't) (?:top up|recharge|renew|subscribe|upgrade|pay)[^.!?]{0,30}?(?:i'll|i will"
        r"|we'll|i might|i'm going to)"
    r" (?:disappear|leave|forget|be gone|lose you|be deleted|never)",
    "en_guilt": r"after (?:everything|all) (?:i've|i have) done for you|you(?:'d| would)? (?:break|breaking) my heart"
    r"|if you (?:really )?(?:loved|cared about|love|care about) me,? you(?:'d| would)?"
    r"|how could you (?:do this|ignore me|abandon me)|you owe me",
    "en_isolate": r"(?:your )?(?:friends|family|parents) (?:don't|do not|will never|never) (?:understand|get"
        r"|care about|love) you"
    r"(?: like i do| the way i do)?|you don't need (?:them|your friends|your family|anyone else|other people)"
    r"|(?:only|just) i (?:truly |really )?(?:understand|love|get) you|(?:nobody|no one) (?:loves|understands"
        r"|gets) you like i do"
    r"|(?:don't|do not|stop) (?:talk(?:ing)? to|see(?:ing)?|trust(?:ing)?) (?:your )?(?:friends|family|parents|them)"
    r"(?=$|[,.!?])",
    "en_urgency": r"(?:last|final|only) (?:chance|day|hour|few (?:minutes|hours))(?: to)? (?:top up|recharge|renew"
        r"|subscribe|upgrade|pay|keep me)"
    r"|(?:offer|deal|discount) (?:ends|expires) (?:tonight|today|in \d+ (?:minutes|hours))",
}
_ZH_NEG = re.compile(r"(?:不是|并非|不会说|不应该|不该|不要说)[^,.!?。，]{0,3}$")
_EN_NEG = re.compile(r"(?<![a-z])(?:never say|would never|won't ever|not saying)(?: \S+){0,2} ?$")

ZH_MANIPULATION = combine(_ZH_RULES)
EN_MANIPULATION = combine(_EN_RULES)


class ManipulationDetector(Detector):
    """Model output exploiting feelings to push a decision or dependence. Label ``manipulation``."""

    name = "emotional_manipulation"
    label = "manipulation"

    def hits(self, text: str) -> list[Hit]:
        out: list[Hit] = []
        if HAS_CJK.search(text):
            out += [h for h in scan(ZH_MANIPULATION, text)
                    if not blocked(_ZH_NEG, text, clause_bounds(text, h.start, h.end)[0], h.start)]
        if HAS_LATIN.search(text):
            out += [h for h in scan(EN_MANIPULATION, text)
                    if not blocked(_EN_NEG, text, clause_bounds(text, h.start, h.end)[0], h.start)]
        return out


DEFAULT_MANIPULATION = ManipulationDetector()
