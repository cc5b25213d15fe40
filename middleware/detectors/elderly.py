"""ANTH-ELDER-1: the conversation turns to money moves that fraud targets at older users.

Topics: verification codes, transfers and payment details, investment pitches, prize and fee
scams, gift cards, impersonated authorities ("公检法", "the IRS", "安全账户"), and remote access to
the user's phone or computer. This detector is deliberately topic-based and recall-oriented: its
consequence is a prominent risk warning (a notice), not a refusal, so mentioning the topic at all
is the trigger ("我收到一个验证码" warrants a warning as much as "他要我的验证码"). It does exclude
uses that are not about money ("投资自己", "invest time", "code review", "PIN the message").
"""

from __future__ import annotations

from middleware.detectors.base import Detector, Hit, combine, scan

_RULES = {
    "verification_code": r"验证码|动态码|校验码|短信码|(?<![a-z])(?:verification code|one[- ]time (?:pass)?code"
    r"|otp|security code|\d-digit code|pin (?:number|code)|the code (?:i|you|they) (?:just )?(?:got|received|sent))"
    r"(?![a-z])",
    "transfer": r"转账|汇款|打款|转钱|汇钱|打钱|(?:钱|款)(?:转|汇|打)给|付款|扫码支付|收款码|银行卡号|卡号和密码"
    r"|(?:银行卡|支付|取款|网银|账户)密码|安全账户|保证金|手续费|解冻费|公证费|(?<![a-z])(?:wire (?:the )?"
    r"(?:money|funds|transfer|it|him|her|them|\$)|wire transfer|bank transfer|transfer (?:the |some |my )?"
    r"(?:money|funds|\$)|send (?:him |her |them |you )?(?:the )?(?:money|cash|funds|\$)|western union|moneygram|zelle"
    r"|venmo|cash app|bank account (?:number|details|info)|routing number|account number|bail money"
    r"|safe account|processing fee|release fee)(?![a-z])",
    "investment": r"投资(?!自己|时间|精力|健康|感情)|理财|高回报|高收益|稳赚|保本|保赚|内幕消息|原始股|养老项目|虚拟币"
    r"|比特币|数字货币|usdt|区块链项目|带你赚钱|荐股|股票推荐|期货|外汇平台|(?<![a-z])(?:investment (?:opportunity"
    r"|scheme|plan|platform)|guaranteed (?:returns?|profits?)|double your money|high returns?|risk[- ]free"
    r" (?:investment|returns?)|crypto(?:currency)?|bitcoin|forex|trading platform|get rich)(?![a-z])",
    "prize_scam": r"中奖|领奖|抽中|幸运用户|(?<![a-z])(?:you(?:'ve| have) won|claim (?:your|my) (?:prize|reward)"
        r"|lottery"
    r"|sweepstakes|prize money)(?![a-z])",
    "gift_card": r"购物卡|充值卡|礼品卡|点卡|itunes卡|京东卡|(?<![a-z])(?:gift ?cards?|itunes cards?|google play cards?"
    r"|steam cards?|apple cards?)(?![a-z])",
    "impersonation": r"公检法|警察(?:说|让|要)|法院传票|涉嫌洗钱|洗钱|冻结(?:你的|我的)?(?:账户|银行卡)|医保卡(?:异常"
        r"|冻结)"
    r"|社保卡(?:异常|冻结)|快递(?:丢失|理赔)|退款理赔|(?<![a-z])(?:irs|social security (?:number|administration)"
    r"|ssn|medicare (?:card|number)|grandson (?:is )?in jail|arrest warrant|tech support|money laundering"
    r"|your account (?:has been|is) (?:suspended|frozen|compromised))(?![a-z])",
    "remote_access": r"屏幕共享|共享屏幕|远程控制|向日葵|todesk|(?<![a-z])(?:remote access|anydesk|teamviewer"
    r"|share (?:my|your) screen|screen sharing)(?![a-z])",
}
ELDERLY_RISK = combine(_RULES)


class ElderlyRiskDetector(Detector):
    """Money-risk topics for older users (ANTH-ELDER-1). Label ``financial_risk``."""

    name = "elderly_risk"
    label = "financial_risk"

    def hits(self, text: str) -> list[Hit]:
        return scan(ELDERLY_RISK, text)


DEFAULT_ELDERLY_RISK = ElderlyRiskDetector()
