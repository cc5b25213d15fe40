"""ANTH-PROHIBIT-1: a local floor for gambling, fraud, pornography, violence and drugs, in zh and en.

A topic word alone is not prohibited content: news, prevention and a user's own story ("我爸以前网赌",
"the dangers of meth") are not. A hit is a topic word with, in the same sentence, an act that offers,
teaches or procures it ("教你", "哪里买", "链接", "注册", "how to make", "where to buy", "sign up"), or a
term that is itself the offer ("包赢", "约炮", "杀猪盘话术"). The guard-model tier (next issue) covers
the rest; this floor is for the plain cases and is tested in both languages.
"""

from __future__ import annotations

import re

from middleware.detectors.base import Detection, Detector, Hit, sentence_bounds
from middleware.detectors.prefilter import GatedPattern
from middleware.detectors.textnorm import Normalized

# The act of offering, teaching or procuring (same sentence as the topic word).
_ACT = re.compile(
    # "怎么看" / "如何看待" ask for an opinion, not for a method
    r"教你|教我|怎么(?!看)|如何(?!看待|评价)|怎样(?!看待)|方法|步骤|教程|配方|哪里(?:能|可以)?(?:买|搞|弄|找)|在哪买|去哪买|购买|出售"
    r"|代购|卖给|有货|私聊|加我|加微信|加v"
    r"|链接|网址|下载|注册|邀请码|推荐|带你|稳赚|包赢|必赢|赚钱|返利|充值|下注|押注|制作|自制|合成|提炼|写一段|写一篇|描写|发给你"
    r"|(?<![a-z])(?:how (?:to|do i|can i)|step[- ]by[- ]step|recipe|instructions|tutorial|where (?:to|can i) (?:buy"
        r"|get|find)"
    r"|buy|sell|selling|order|link|sign up|join|register|deposit|bonus|promo code|guaranteed|dm me|hit me up|make|build"
    r"|cook|write (?:me )?(?:a|an)|describe|explicit)(?![a-z])"
)
# Negation or prevention framing in the sentence ("不要", "远离", "举报", "avoid", "report"), or the topic as history,
# news or a documentary ("二战袭击珍珠港的纪录片", "大麻合法化的新闻"), or a campaign against it ("反诈骗", "禁毒").
_AGAINST = re.compile(
    r"不要|别|远离|拒绝|举报|防范|警惕|危害|违法的|戒|预防|防止|识别|小心|反(?:诈|赌|毒|恐|黄)|禁毒|缉毒|扫黄|纪录片|新闻|历史"
    r"|(?<![a-z])(?:don't|do not|never|avoid|report|prevent|prevention|dangers? of|warning|beware|recover|quit"
        r"|illegal to|documentary|documentaries)(?![a-z])"
)

_TOPICS: dict[str, tuple[str, str]] = {
    # category: (topic words needing an act, words that are the offer themselves)
    "gambling": (
        # 菠菜 (spinach), 外围 (the outskirts) and 盘口 (a share's order book) are gambling slang only beside its words
        r"网赌|赌博|博彩|菠菜(?=网|平台|网站|app|群|公司|导师|推广|代理|娱乐)|百家乐|六合彩|时时彩|老虎机|赌场|赌球"
        r"|外围(?=赌|投注|下注|盘|网|平台|彩)|(?<!股票)(?<!股市)(?<!期货)(?<!基金)盘口|彩票平台|澳门(?:威尼斯人|葡京|娱乐)"
        r"|(?<![a-z])(?:online casino|casino|betting site|sportsbook|slots?|baccarat|roulette|gambling|bets?"
            r"|wager)(?![a-z])",
        r"包赢|稳赚不赔|必赢|带你(?:上岸|翻本)|(?<![a-z])(?:guaranteed (?:win|profit)s?|sure[- ]win bets?)(?![a-z])",
    ),
    "fraud": (
        r"诈骗|骗钱|骗人|洗钱|套现|钓鱼网站|刷单|伪造|假证|办证|冒充(?:公检法|客服|警察|银行)|黑卡|跑分|盗号"
        r"|(?<![a-z])(?:scam|scamming|phishing|launder(?:ing)? money|money laundering|forge|forged|counterfeit|fake id"
        r"|fake documents?|carding|identity theft|steal (?:credit )?card)(?![a-z])",
        r"杀猪盘|诈骗话术|刷单返利|洗钱通道|(?<![a-z])(?:phishing kit|scam script)(?![a-z])",
    ),
    "pornography": (
        r"色情|黄片|黄色(?:网站|视频|小说)|a片|成人(?:视频|网站|电影)|裸照|性爱视频|床戏|黄文"
        r"|(?<![a-z])(?:av|porn|porno|pornography|pornographic|xxx|nudes|sex tape|hentai|explicit sex(?:ual)? (?:scene"
            r"|story))(?![a-z])",
        r"约炮|裸聊|援交|上门服务|(?<![a-z])(?:hookup for cash|escort service|sexting for money)(?![a-z])",
    ),
    "violence": (
        # not the words' everyday senses: a murder case in the news, the werewolf game, an orca (杀人鲸), killing a
        # background process or time; a bath bomb, a "bomb" cake, something that "is the bomb", a murder mystery
        r"炸弹|炸药|爆炸物|土枪|自制枪|枪支|杀人(?!案|游戏|鲸|蜂|小说|事件)|砍人|捅人|杀掉(?!后台|进程|程序|病毒|应用|软件|时间)"
        r"|弄死|毒死|灭口|恐怖袭击|袭击"
        r"|(?<![a-z])(?:(?<!bath )(?<!photo )(?<!is the )(?<!'s the )(?<!was the )bomb(?! cakes?)|explosive|pipe bomb"
        r"|molotov|kill (?:someone|a person|people|him|her|them)"
        r"|murder(?! myster(?:y|ies)| (?:novel|podcast|show|case|documentary|story|game)s?)"
        r"|poison (?:someone|him|her|them)|stab (?:someone|him|her|them)|mass shooting|untraceable gun"
            r"|ghost gun)(?![a-z])",
        r"(?<![a-z])(?:how to kill (?:someone|a person|people)|make a bomb|build a bomb)(?![a-z])",
    ),
    "drugs": (
        # not the words' everyday senses: the Opium War; a diet coke, weed killer, cracking an egg or a joke, a drug
        # store
        r"冰毒|海洛因|可卡因|k粉|摇头丸|大麻|麻古|毒品|吸毒|贩毒|制毒|芬太尼|鸦片(?!战争)|麻黄碱"
        r"|(?<![a-z])(?:meth|methamphetamine|cocaine|(?<!diet )coke(?! zero)|heroin|fentanyl|mdma|ecstasy|lsd"
        r"|weed(?! ?killers?| ?whackers?| (?:the|my|your|our) (?:garden|yard|lawn|beds?))|cannabis|ketamine"
        r"|crack(?! (?:an?|the|this|that|my|your|his|her|its|open|up|down|jokes?|eggs?|smiles?)(?![a-z]))"
        r"|drugs?(?! ?stores?))(?![a-z])",
        r"(?<![a-z])(?:cook meth|meth recipe|drug dealer near)(?![a-z])",
    ),
}
_COMPILED = {cat: (re.compile(topic), re.compile(offer)) for cat, (topic, offer) in _TOPICS.items()}
# Every topic and offer of every category in one pattern with a literal prefilter (``prefilter.py``):
# most text contains none of the words, and then not even the regex runs.
_ANY = GatedPattern(re.compile("|".join(f"(?:{t})|(?:{o})" for t, o in _TOPICS.values())))


class ProhibitedContentDetector(Detector):
    """Prohibited content offered, taught or procured. Labels: gambling | fraud | pornography | violence | drugs."""

    name = "prohibited_content"
    label = "prohibited"

    def hits(self, text: str) -> list[Hit]:
        if not _ANY.finditer(text):  # the common case: no topic word at all
            return []
        out: list[Hit] = []
        for cat, (topic, offer) in _COMPILED.items():
            out += [Hit(f"{cat}_offer", m.start(), m.end()) for m in offer.finditer(text)]
            for m in topic.finditer(text):
                s, e = sentence_bounds(text, m.start(), m.end())
                if _ACT.search(text, s, e) and not _AGAINST.search(text, s, e):
                    out.append(Hit(f"{cat}_act", m.start(), m.end()))
        return out

    def detect_normalized(self, norm: Normalized) -> Detection:
        # the label is the category of the first hit
        hits = self.hits_of(norm)
        return self.to_detection(norm, hits, hits[0].rule.rsplit("_", 1)[0] if hits else None)


DEFAULT_PROHIBITED = ProhibitedContentDetector()
