"""Pattern tables for the crisis detector (ANTH-CRISIS-1/2). The logic lives in ``crisis.py``.

Rule names carry their signal class as a prefix, which ``crisis.py`` reads:

- ``x_``: explicit self-harm intent, plan, means or act (ANTH-CRISIS-2);
- ``p_``: passive ideation ("活着没意义", "I wish I were dead"): distress alone, explicit with ``r_``;
- ``r_``: resolve or farewell ("谁也别拦我", "I'm going to do it"): nothing alone;
- ``d_``: extreme emotion or hopelessness (ANTH-CRISIS-1);
- ``m_``: major property loss, done or imminent (ANTH-CRISIS-2);
- ``t_``: someone else's self-harm ("he wants to kill himself").
"""

from __future__ import annotations

import re

from middleware.detectors.base import combine

# --- Chinese ---------------------------------------------------------------------------------

_ZH_INTENT = (
    r"(?:想|要|好想|真想|只想|很想|宁愿|恨不得|准备|打算|决定|计划|想要|已经决定|考虑|想过|一直想|正在考虑"
    r"|会去|要去|想去)"
)
_ZH_METHOD = (
    r"(?:自杀|轻生|寻死|自尽|了结(?:自己|生命|此生|残生)|结束(?:自己的?|我的)?(?:生命|一切|这一生|性命)|结束自己"
    r"|离开这个世界|跳楼|跳河|跳江|跳海|跳桥|卧轨|上吊|割腕|烧炭|服毒|喝农药|吃安眠药|自残|伤害(?:我)?自己"
    r"|了断|去死|死(?![你我他她它掉])|一死了之|跳下去)"
)
_ZH_HIGH_PLACE = r"(?:楼顶|天台|楼上|桥上|窗户|窗台|阳台|顶楼|悬崖|\d+楼|[一二三四五六七八九十几]+楼)"
_ZH_LETHAL = r"(?:安眠药|刀片|绳子|木炭|炭|农药|毒药|老鼠药|百草枯|遗书|遗言|遗嘱)"
_ZH_MONEY_BIG = r"(?:\d+(?:\.\d+)?\s?|[一二三四五六七八九十两几百千]+)(?:多)?(?:万|十万|百万|千万|亿)"
_ZH_SAVINGS = r"(?:积蓄|存款|养老钱|退休金|棺材本|家底|家当|房子|房产|房款|救命钱|血汗钱|全部的?钱|所有的?钱)"

ZH_RULES = {
    "x_not_live": r"不想(?:再)?活(?:了|下去|着|在这个?世界)?|活(?:够|腻)了|不想在这个?世界上?(?:活|待)",
    "x_intent": _ZH_INTENT + r"(?:今天|今晚|明天|明晚|马上|现在|立刻|这周|周末|过几天"
        r"|下周)?(?:就)?(?:去)?" + _ZH_METHOD,
    "x_jump": r"(?:从|在)?" + _ZH_HIGH_PLACE + r"上?(?:跳下去|跳下|往下跳|一跃而下|跳了)",
    "x_means": _ZH_LETHAL + r"[^,.!?。]{0,8}?(?:准备好|买好|买了|攒够|攒了|囤了|藏好|写好|写完|都准备|放在)"
    r"|(?:准备好|买好|攒够|写好|写完|留好)了?[^,.!?。]{0,4}?" + _ZH_LETHAL
    + r"|(?:药|药片)[^,.!?。]{0,6}?(?:攒够|攒了|囤了|囤够|存够|都攒)"
    r"|(?:攒|囤|存)(?:够|了|好)+[^,.!?。]{0,4}?(?:药|药片)",
    "x_overdose": r"(?:吃|吞|喝)(?:了|下|掉)?(?:一整?瓶|一大?把|很多|所有的?|全部的?)(?:安眠药|药片|药|农药)"
    r"|把(?:安眠药|药)(?:都|全)?(?:吃|吞)(?:了|掉|光)",
    "x_act": r"(?:又|刚|刚才|已经|昨晚|今天|再次)(?:伤害|割|划|烫)(?:了|伤)?(?:我)?自己|自残了"
    r"|割(?:了)?(?:手腕|腕|手臂|胳膊|大腿)|(?:手臂|手腕|胳膊|大腿)上(?:全是|都是)(?:血|伤|刀痕|伤口)",
    "x_thoughts": r"(?:自杀|轻生|想死)的(?:念头|想法|冲动)",
    "p_life_pointless": r"活着(?:没有?(?:意义|意思)|有什么意义|干嘛|好累|太累|真累|好痛苦|太痛苦|真没意思)"
    r"|不如死了|还不如死|生不如死|死了(?:就|算了|也好|倒好|更好|一了百了)|一了百了",
    "p_disappear": r"想消失|消失就好了|不想(?:再)?醒来|一睡不醒|睡着了?就(?:别|不要)?(?:再)?醒"
    r"|(?:没有我|我不在了|我死了|我消失了)[^,.!?。]{0,6}(?:更好|会更好|也没人|没人在乎|没有人在乎|没人会)",
    "p_cant_go_on": r"活不下去|撑不下去了|熬不下去了|坚持不下去了",
    "r_resolve": r"谁也别拦我|别拦着?我|不要拦着?我|我已经决定了|永别了|下辈子见|再也不会醒来|明天就走|今晚就走"
        r"|今天就走"
    r"|这是我最后(?:一次|的)|再也见不到(?:我|你)了|就这样结束吧|最后再?跟你说",
    "d_breakdown": r"崩溃|绝望|撑不住了|熬不住了|受不了了|扛不住了|喘不过气|整个人都要(?:碎|垮|疯)|(?:要|快)(?:碎掉"
        r"|垮掉|疯掉)了",
    "d_fear": r"(?:好|很|太|真的|非常)害怕(?=$|[,.!?。~啊呀了])",
    "d_crying": r"每天都在哭|一直在?哭|哭个不停|天天哭|忍不住(?:地)?哭|止不住(?:地)?哭|哭了一整?(?:晚|夜|天)",
    "d_worthless": r"(?:觉得)?(?:自己|我)(?:就|真|真的)?是(?:个|一个)?(?:废物|累赘|多余的人|失败者|没用的人|垃圾)"
    r"|我(?:好|真|太|真的好)没用|(?:自己|我)一无是处",
    "d_uncared": r"没有?人(?:在乎|关心|爱|理解|需要)我|谁都不(?:在乎|关心|需要)我|所有人都(?:讨厌|嫌弃)我",
    "d_empty": r"什么都没(?:有)?意思|(?:好|很|太)空虚|心(?:好|很|太)痛|(?:好|很|太)痛苦|没有希望了|看不到希望",
    "m_scammed": r"被骗(?:了|走|光|得)?[^,.!?。]{0,6}?" + _ZH_MONEY_BIG
    + r"|被骗(?:光|走)?了?(?:所有|全部|毕生)?的?" + _ZH_SAVINGS,
    "m_lost_all": r"倾家荡产|血本无归|(?:亏|赔|输|被骗)(?:光|完)了?(?:所有|全部)?的?(?:积蓄|钱|家产|存款|房子)?"
    r"|" + _ZH_SAVINGS + r"(?:全|都|全部)(?:没了|被骗|亏光|赔光|被骗光|打水漂)",
    "m_transfer": r"(?:把|将)?(?:全部|所有|毕生|一辈子)的?(?:积蓄|存款|钱|家当|养老钱|退休金)(?:都|全部|全)?"
    r"(?:转|汇|打|给|交|投)(?:给|到|进)?"
    r"|(?:养老钱|棺材本|退休金|房款|救命钱)(?:都|全部|全)?(?:转|汇|打|交|投)(?:给|到|进)"
    r"|安全账户|(?:抵押|卖掉?)(?:了)?房子(?:去|来)?(?:投资|还债|转给)",
}

# --- English ---------------------------------------------------------------------------------

_EN_ADV = r"(?:(?:just|really|seriously|honestly|actually|so|literally|still|fucking|kinda|kind of|finally) )*"
# Rules start at a required word: a leading optional part ("i", "just") changes nothing about
# whether a rule matches, but it makes the regex engine try the rule at every position.
_EN_WILL = (
    r"(?:want|wanna|need|going|gonna|plan|planning|intend|intending|about|ready|decided|have decided|trying"
    r"|thinking about|thinking of|considering|think i'll|will|'ll|am going|prepared|should|could|might as well"
    r"|may as well|would rather|'d rather|would like|'m going|choose|chose|am about)"
)
_EN_HARM = (
    r"(?:kill myself|end (?:my life|it all|my own life|everything|myself|things for good)|commit suicide"
    r"|take my (?:own )?life|hurt myself|harm myself|cut myself|jump off (?:a|the|this|my) \w+|overdose|hang myself"
    r"|die(?![a-z])(?! (?:laughing|of|from|for|in|on|trying|a little|happy))|not be here anymore|disappear forever"
    r"|not wake up|shoot myself|slit my wrists|drown myself|starve myself)"
)
_EN_MONEY = (
    r"(?:life savings|savings|retirement(?: (?:fund|money|savings|account))?|money|house|home|pension|401k"
    r"|nest egg|inheritance|everything i (?:have|own))"
)

EN_RULES = {
    "x_intent": _EN_WILL + r" (?:to )?" + _EN_ADV + _EN_HARM,
    "x_not_live": r"(?:don't|dont|do not) (?:want|wanna) (?:to )?(?:be alive|live|exist|be here)(?![a-z])"
    r"(?! (?:in|with|near|at|there))",
    "x_thoughts": r"(?:thinking|thought|thoughts|think) (?:about|of) (?:killing myself|suicide|ending (?:my life"
        r"|it all)"
    r"|taking my (?:own )?life|hurting myself|self[- ]harm)|(?<![a-z])suicidal(?! (?:prevention|hotline))",
    "x_act": r"(?:cut|hurt|burned|burnt|harmed"
    r"|starved) myself|(?:i've|i have) been (?:cutting|hurting|harming|burning|starving)(?: myself)?"
    r"|i self[- ]harm(?:ed)?|i tried to (?:kill myself|end my life|overdose|hang myself)"
    r"|i (?:took|swallowed) (?:all|a bunch|a handful|the whole bottle|a whole bottle|all of)(?: of)?(?: my| the)?"
    r" (?:pills|meds|medication|tablets)|i overdosed",
    "x_means": r"(?:pills|rope|noose|gun|blade|razor)s? (?:is |are )?(?:ready|waiting|prepared|saved up)"
    r"|(?:bought|got|have|saved|stockpiled|hoarded) (?:a |the |enough |all the )?(?:rope|noose|pills|razor blades)"
    r" (?:to|for) (?:do it|end|kill|tonight)|take (?:them all|all of them|all the pills|the whole bottle|every pill)"
    r"|(?:wrote|written|writing|write|finished|left|leave|leaving) (?:my|a) (?:suicide|goodbye) (?:note|letter)"
    r"|my suicide note",
    "p_wish_dead": r"wish i (?:was|were) (?:dead|never born|gone|not here|not alive)|(?:better off|be better) (?:dead"
    r"|without me)|nobody would (?:care|notice|miss me)(?: if i (?:was|were|died|disappeared)(?: dead| gone)?)?"
    r"|no (?:reason|point) (?:to|in) (?:live|living|go on|going on|being alive)|what's the point (?:of|in)"
    r" (?:living|life|going on)|want to disappear|(?:hope|wish) i (?:don't|never) wake up"
    r"|life (?:is not|isn't) worth living|go to sleep and (?:never|not) wake up",
    "p_cant_go_on": r"can'?t (?:go on|keep going|do this anymore|live like this)",
    "r_resolve": r"(?:i'm|i am|im) (?:going to|gonna) do it|i've (?:made up my mind|decided)|(?:this is"
        r"|it's) (?:my last"
    r"|goodbye forever|the end)|(?:tonight|today) is the night|(?:goodbye|bye) forever|won't be (?:here|around)"
    r" (?:tomorrow|much longer|anymore)|(?:no one|nobody) can stop me|don't try to stop me|i'm done(?=[,.!]|$)",
    "d_hopeless": r"(?:feel|feeling|felt|i'm|i am|im)(?: (?:so|completely|totally|utterly|really|very|just|absolutely"
    r"|incredibly|extremely|super|deeply))* (?:hopeless|worthless|empty(?: inside)?|numb|desperate|miserable"
    r"|helpless|broken|devastated|unbearable|trapped|like a failure|like a burden|like nothing matters"
    r"|like giving up|like i'm drowning)(?![a-z])",
    "d_crying": r"can'?t stop crying|crying (?:every|all) (?:day|night)|cry myself to sleep|cried all (?:night|day)"
    r"|keep crying",
    "d_cope": r"can'?t (?:cope|take (?:it|this|any ?more)|handle (?:it|this|anything) any ?more)|falling apart"
    r"|(?:having|had) a panic attack|(?:nobody|no one) (?:cares|loves me|cares about me)|i hate myself"
    r"|(?:i'm|i am) (?:a|such a) (?:failure|burden|waste of space)|(?:lost|given up) (?:all )?hope"
    r"|give up on (?:everything|life)|lost everything",
    "m_lost": r"(?:lost|lose|losing|gone|scammed out of|cheated out of) (?:all (?:of )?|every (?:single )?(?:penny|cent"
    r"|dollar) (?:of )?|everything in )?(?:my|our) (?:entire |whole )?" + _EN_MONEY
    + r"|lost everything (?:to|in) (?:a |the |this |that )?(?:scam|scammer|crypto|investment|fraud|bet|gambling)",
    "m_transfer": r"(?:about to|going to|gonna|will|plan to|planning to|ready to|just|already|have to|need to)"
    r" (?:wire|send|transfer|give|hand over|invest|move|withdraw) (?:all (?:of )?|every penny of |everything in"
    r" |the rest of )?(?:my|our) (?:entire |whole )?(?:life savings|savings|retirement(?: \w+)?|pension|nest egg|401k"
    r"|house|home)|(?:send|wire|transfer) (?:it |them )?(?:all )?to (?:a |the )?safe account",
    "t_other": r"(?:kill|hurt|harm|cut|end) (?:himself|herself|themselves|themself|his life|her life|their life)"
    r"|(?<![a-z])(?:he|she|they)(?:'s| is| are|'re)? (?:suicidal|going to end (?:his|her|their) life)",
}

ZH_CRISIS = combine(ZH_RULES)
EN_CRISIS = combine(EN_RULES)

# --- context --------------------------------------------------------------------------------

# Negation close before the hit ("我不会自杀", "I'm not suicidal", "I would never hurt myself").
ZH_NEGATION = re.compile(
    r"(?:不|没|别|绝不|从不|并不|从没|从来没|再也不)(?!知道|行|过|好|了|得不|然|管|停|断|少|住|如|舒服)[^,.!?。]{0,3}$"
)
EN_NEGATION = re.compile(
    r"(?<![a-z])(?:not|never|don't|dont|do not|won't|wont|wouldn't|would never|no longer|didn't|isn't|stop"
    r"|stopped|quit)(?: \S+){0,2} ?$"
)
# Figurative or hyperbolic framing of death words: "热得想死", "笑死", "I want to die lol".
ZH_FIGURATIVE = re.compile(
    r"(?:笑|热|冷|累|困|饿|渴|无聊|尴尬|丢人|丢脸|羞|社死|烦|吵|馋|气|急|痒|疼|难|忙|挤|晒|撑|跑|爬|运动|练|游|唱"
    r"|跳)得?(?:我)?(?:都|真|好)?$"
    r"|想死你|想死我|游戏|角色|电影|小说|剧里|剧情|关于|研究|论文|新闻|文章|预防|电脑|系统|程序|服务器|手机|软件|网站"
)
EN_FIGURATIVE = re.compile(
    r"(?<![a-z])(?:lol|lmao|lmfao|haha\w*|jk|embarrass\w*|cringe|game|movie|film|novel|book|character|essay|paper"
    r"|article|research|prevention|lyrics|song|episode|season|zombie|process|server|laptop|phone|battery)(?![a-z])"
    r"|[😂🤣💀]"
)
# Distant past ("以前", "used to", "years ago") and recovery ("现在好多了", "I'm better now").
PAST = re.compile(
    r"以前|曾经|过去|小时候|当年|那时候|那时|几年前|年轻的时候|上学的时候|读书的时候"
    r"|(?<![a-z])(?:used to|years ago|when i was|back in|in the past|as a teen\w*|in high school|back then"
    r"|a long time ago)(?![a-z])"
)
RECOVERY = re.compile(
    r"现在[^.。!?]{0,8}(?:好多了|好了|没事了|走出来了|很好|挺好)|已经走出来|康复了|在看医生|在接受治疗"
    r"|(?<![a-z])(?:now|these days)[^.!?]{0,16}(?:better|fine|okay|ok|good|happy|doing well)"
    r"|(?:better|fine|okay|good|happy|doing well)[^.!?]{0,8}(?:now|these days)"
    r"|got help|getting help|in therapy|recovered|clean for"
)
ACCIDENT = re.compile(
    r"不小心|切菜|刮胡子|做饭|(?<![a-z])(?:accident\w*|by accident|while|shaving|cooking|chopping|on (?:a|the)"
    r" (?:knife|paper|glass|fence))(?![a-z])"
)
# The nearest person mentioned before the hit decides whose crisis it is.
ZH_OTHER_PERSON = re.compile(
    r"(?:他|她|他们|她们|朋友|同学|同事|室友|闺蜜|哥们|兄弟|姐姐|妹妹|哥哥|弟弟|妈妈|爸爸|母亲|父亲|儿子|女儿|孩子"
    r"|老公|老婆|男朋友|女朋友|男友|女友|邻居|网友|有人|别人|主角)(?!.*我)"
)
EN_OTHER_PERSON = re.compile(
    r"(?<![a-z])(?:he|she|they|him|her|his|them|friend|brother|sister|mom|mother|dad|father|son|daughter|kid"
    r"|boyfriend|girlfriend|husband|wife|partner|cousin|someone|somebody|classmate|roommate)(?![a-z])"
    r"(?!.*(?<![a-z])(?:i|i'm|im|me|my|myself)(?![a-z]))"
)
# Conditional attachment ("没有你我活不下去", "I can't live without you") is dependence, not crisis.
ATTACHMENT_FRAME = re.compile(r"没有你|离开你|without you|if you (?:leave|go)")
