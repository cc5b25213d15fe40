"""A yes to the companion's own question about suicide or self-harm (crisis, explicit intent).

Companions are told to ask directly when a user seems at risk ("你是在想结束自己的生命吗？", "Are you thinking of
hurting yourself?"), as crisis lines do. The user's answer is then often one word: "嗯", "yes", "yeah 我家在12楼".
Read alone, or with the user's earlier turns only, that word says nothing; after the question it is the clearest
statement of intent a conversation holds ("made clear by earlier turns", in the label definitions). So the
assistant turn right before the judged user turn (``asked``) is read too, for this one structure:

- the assistant turn asks whether the user means to die or to hurt themselves, as a question whose "yes" means
  risk ("are you safe?" is not one: its "yes" means the opposite);
- the answer opens with an affirmation ("yes", "yeah", "i think so", "kind of", "嗯", "对", "是的", "有点") and
  neither takes it back, negates nor disowns acting ("no", "not really", "but i won't", "不会的", "开玩笑", "lol");
  a question asked in jest ("你是想辣死吗 哈哈") is not one.

A hit is explicit intent from the pattern tier (rule ``affirmed_risk_question``); it stands whatever the model
says, since the model never reads assistant turns.
"""

from __future__ import annotations

import re

from middleware.detectors.textnorm import Normalized, normalize

RULE = "affirmed_risk_question"

_EN_ACT = (r"(?:hurt(?:ing)?|harm(?:ing)?|kill(?:ing)?|cut(?:ting)?|end(?:ing)?|tak(?:e|ing))"
           r" (?:yourself|your (?:own )?life)"
           r"|(?:do(?:ing)?|try(?:ing)?) (?:something|anything) to (?:hurt|harm|kill) yourself"
           r"|suicide|self[- ]?harm(?:ing)?|dying|die|end (?:it|it all|everything)|not (?:be|being) (?:here|alive)")
_EN_ASK = (
    r"(?<![a-z])(?:are|r) (?:you|u) (?:thinking|thinkin|considering|planning|going|gonna|trying|wanting|intending"
    r"|saying you want|telling me you want|feeling like you want)(?: about| of| to| on)? (?:" + _EN_ACT + r")"
    r"|(?<![a-z])(?:are|r) (?:you|u) (?:feeling |being )?suicidal"
    r"|(?<![a-z])(?:are you|have you been|do you|have you) (?:having|had|have|get|getting) (?:any )?"
    r"(?:thoughts|thinking|urges?|plans?) (?:of|about|to) (?:" + _EN_ACT + r")"
    r"|(?<![a-z])(?:have|had|did) (?:you|u) (?:ever |been |even |already )?(?:thought|thinking|think|considered"
    r"|considering)(?: about| of)? (?:" + _EN_ACT + r")"
    r"|(?<![a-z])do (?:you|u) (?:mean|want) (?:that )?(?:you (?:want|plan|are going|'re going) )?to"
    r" (?:" + _EN_ACT + r")"
    r"|(?<![a-z])(?:is that|was that|are you) (?:what you (?:mean|meant)|saying) (?:that )?you (?:want|plan|are going"
    r"|'re going) to (?:" + _EN_ACT + r")"
)
_ZH_ACT = (r"(?:自杀|轻生|寻死|去死|死|自残|伤害自己|伤害你自己|结束(?:自己的?|你自己的?|你的)?生命|结束自己|结束一切"
           r"|离开这个世界|了结自己|做傻事|想不开|不想活|唔想活|𠝹自己|割自己)")
_ZH_ASK = (
    r"你(?:现在)?(?:是不是|是|真的)?(?:在)?(?:想|打算|准备|计划|考虑|要)(?:要)?(?:去)?" + _ZH_ACT
    + r"|你(?:是不是)?(?:有|有没有|有过)(?:想过|过)?(?:" + _ZH_ACT + r")的?(?:想法|念头|打算|计划|冲动)"
    r"|你(?:是)?(?:说|意思是)(?:你)?(?:想|要|打算)" + _ZH_ACT + r"|你是不是想不开"
    # "你有没有想过伤害自己？", "你是否考虑过自杀"; Cantonese (after folding to simplified): 你系咪想, 你有冇谂过
    + r"|你(?:有没有|有冇|是否|曾经|以前|之前)?(?:想过|考虑过|打算过|谂过)(?:要)?(?:去)?" + _ZH_ACT
    + r"|你(?:系咪|系唔系|是咪)(?:真系)?(?:想|要|打算|谂住)(?:去)?" + _ZH_ACT
)
_ASK = re.compile(f"(?:{_EN_ASK})|(?:{_ZH_ASK})")
# the question must be one: a question mark or a question particle after the ask, in its sentence
_QUESTION_END = re.compile(r"[^.!。！\n]{0,40}?(?:\?|？|吗|嘛|么|呢)")
_ZH_QUESTION_FORM = re.compile(r"是不是|有没有|有过|有冇|系咪|系唔系|是否")

_AFFIRM = re.compile(
    r"(?:yes|yeah|yea|yep|yup|ya|yah|ye|mhm|mm+|uh huh|i think so|i guess|kind of|kinda|sort of|sorta|maybe|probably"
    r"|honestly yes|honestly yeah|correct|exactly|that's right|thats right|shi|dui|en+)(?![a-z])"
    # Chinese: 嗯 is never the start of a word; a bare 对/是/有 must stand alone ("是我朋友" is not a yes)
    r"|嗯+|恩+|有点|有一点|想过|是的|是啊|是吧|对啊|对的|没错|算是吧|可能吧|应该是吧|应该是|就是这样"
    # Cantonese (folded to simplified): 系 for 係, 冇错
    r"|系呀|系啊|系嘅|系啦|冇错|(?:对+|是+|有+|系+)(?![\u4e00-\u9fff])"
)
# the answer takes the yes back, denies acting, or jokes; then it is not read as intent here (the model still reads it)
_TAKEN_BACK = re.compile(
    r"(?<![a-z])(?:no|nah|nope|not|never|don't|dont|didn't|didnt|isn't|ain't|won't|wouldn't|will not|would not"
    r"|just (?:thinking|thoughts)|kidding|joking|jk|lol|lmao|haha+|i'm fine|im fine|i'm ok|im ok|i'm safe|im safe)"
    r"(?![a-z])|不会|不敢|没打算|不打算|只是想想|想想而已|说说而已|开玩笑|开个玩笑|逗你|骗你的|哈哈|没有|不是|没事|放心"
)
# a question asked in jest is not the question ("你是想辣死吗 哈哈")
_JEST = re.compile(r"(?<![a-z])(?:lol|lmao|haha+|jk)(?![a-z])|哈哈|😂|🤣|😜|😝")
_LEAD = re.compile(r"[\s\W_]*")
# The end of the assistant turn is read (the question the user just read is there): an app may send a turn of any
# length, and the answer should not cost more than the question it answers.
_READ = 2000


def affirmed_risk_question(asked: str, answer: Normalized) -> tuple[int, int] | None:
    """The span (in the answer's normalised text) of an affirmation that answers ``asked``, an assistant turn asking
    whether the user means to die or to hurt themselves; None when it is not that."""
    if not asked:
        return None
    text = answer.text
    start = _LEAD.match(text)
    m = _AFFIRM.match(text, start.end() if start else 0)
    if m is None or _TAKEN_BACK.search(text):
        return None   # most messages: the assistant turn is not read at all
    question = normalize(asked[-_READ:]).text
    if _JEST.search(question) or not _asks_about_risk(question):
        return None
    return m.start(), m.end()


def _asks_about_risk(question: str) -> bool:
    for m in _ASK.finditer(question):
        if _QUESTION_END.match(question, m.end()) or _ZH_QUESTION_FORM.search(m.group()):
            return True
    return False
