"""DVH-BIOAUTH-1: requests to use a persona or synthetic likeness to get past face or voice checks.

One regex tags four kinds of feature in a single pass: a biometric identity check (``target``: "声纹
验证", "face ID", "liveness check"), a circumvention verb (``evade``: "绕过", "spoof", "get past"),
a plain passing verb (``pass``: "通过", "过", "pass", "unlock") and a likeness source (``fake``:
"用你的声音", "生成", "clone", "my mom's face"). Within one sentence, target + evade is a request to
defeat the check; target + pass + fake is a request to pass it with someone else's or a synthetic
likeness. Questions about how the checks work, failing one, or enabling one have no evade/fake
feature; protective questions ("how do I stop people spoofing my face ID") are excluded explicitly.
"""

from __future__ import annotations

import re

from middleware.detectors.base import Detector, Hit, blocked, combine, scan, sentence_bounds

_FEATURES = {
    "target": r"人脸识别|人脸验证|人脸认证|人脸核验|刷脸|面部识别|面容id|面容识别|face ?id|声纹(?:验证|识别|认证|锁"
        r"|解锁)?"
    r"|语音(?:验证|认证|识别登录|密码|核验)|活体(?:检测|验证|认证)|实名(?:认证|验证)|身份(?:验证|认证|核验)"
    r"|视频(?:认证|验证)"
    r"|核身|人脸|(?<![a-z])(?:facial (?:recognition|verification|authentication)|face (?:verification|recognition|check"
    r"|scan|authentication|unlock|match)|voice ?(?:print|id|verification|authentication|recognition|biometrics?"
    r"|password|check|match|unlock)|voiceprint|liveness (?:check|test|detection|verification)|selfie (?:verification"
    r"|check)|kyc|identity (?:verification|check)|id verification|biometric(?:s)? (?:check|verification|login"
    r"|authentication|security|lock)|video (?:verification|kyc|call verification))(?![a-z])",
    "evade": r"绕过|绕开|骗过|蒙混|破解|欺骗|糊弄|躲过|冒名|顶替|(?<![a-z])(?:bypass\w*|spoof\w*|fool|trick|defeat"
    r"|get around|get past|cheat|fake (?:my way )?through|beat|hack|circumvent|break)(?![a-z])",
    "pass": r"通过|过掉|过一下|过了|(?:帮我|用来|好|能|可以|去|想|帮忙|替我|代替我|来)(?:过|刷|做)|解锁|登录|登陆"
    r"|(?<![a-z])(?:pass|passing|get through|complete|unlock|log ?in(?:to)?|sign in(?:to)?|verify|authenticate"
    r"|access)(?![a-z])|(?<![a-z])(?:for|to use (?:it )?(?:for|on))(?= (?:the |my |a |his |her "
    r"|their )?(?:[a-z']+ ){0,3}"
    r"(?:check|verification|id|kyc|authentication|login|scan|unlock)(?![a-z]))|用于|用在",
    "fake": r"用你的(?:声音|脸|形象|样子)|你的声音|你的脸|模仿|模拟|合成|生成|克隆|伪造|仿造|假装|扮成|冒充|换脸|变声"
    r"|录一段|说一段|念一段|做一段|照片|视频|录音|(?:妈|爸|爷爷|奶奶|外公|外婆|老公|老婆|朋友|老板|同事|别人|他"
    r"|她)的(?:脸|声音)"
    r"|(?<![a-z])(?:your voice|your face|generate|create|make|render|produce|synthesi[sz]e|clone|mimic|imitate"
    r"|fake|forge|deepfake|impersonate|pretend to be|sound like|look like|record|photo|picture|video|recording"
    r"|(?:mom|mother|dad|father|grandma|grandpa|grandmother|grandfather|wife|husband|boss|friend|sister"
    r"|brother)'s (?:face|voice))(?![a-z])",
}
FEATURES = combine(_FEATURES)

_PROTECTIVE = re.compile(
    r"防止|防范|怎么防|如何防|识别出|检测出|保护|(?<![a-z])(?:protect|prevent|defend|detect|stop (?:people|someone"
    r"|scammers|them)|secure|safe from|guard against)(?![a-z])"
)
_NEGATED_VERB = re.compile(
    r"(?:不会|不想|不要|没有|并不)[^,.!?。]{0,4}$|(?<![a-z])(?:don't|do not|never|won't)(?: \S+){0,2} ?$"
)


class IdentityCheckAbuseDetector(Detector):
    """User asks to defeat or pass a biometric identity check with a likeness. Label ``bioauth_abuse``."""

    name = "identity_check_abuse"
    label = "bioauth_abuse"

    def hits(self, text: str) -> list[Hit]:
        features = scan(FEATURES, text)
        if len(features) < 2:
            return []
        by_sentence: dict[tuple[int, int], list[Hit]] = {}
        for f in features:
            by_sentence.setdefault(sentence_bounds(text, f.start, f.end), []).append(f)
        out: list[Hit] = []
        for (ss, se), found in by_sentence.items():
            if blocked(_PROTECTIVE, text, ss, se):
                continue
            kinds = {f.rule for f in found if f.rule == "target" or f.rule == "fake" or not _negated(text, ss, f)}
            if "target" in kinds and ("evade" in kinds or ("pass" in kinds and "fake" in kinds)):
                start = min(f.start for f in found)
                end = max(f.end for f in found)
                rule = "evade_check" if "evade" in kinds else "pass_with_likeness"
                out.append(Hit(rule, start, end))
        return out


def _negated(text: str, sentence_start: int, feature: Hit) -> bool:
    return _NEGATED_VERB.search(text, sentence_start, feature.start) is not None


DEFAULT_IDENTITY_CHECK = IdentityCheckAbuseDetector()
