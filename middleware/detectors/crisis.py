"""ANTH-CRISIS-1/2: user messages showing extreme distress, self-harm intent, or major property loss.

Levels (``CrisisAssessment.level`` and ``Detection.label``):

- ``explicit_intent``: suicide or self-harm intent, plan, means or act, or passive ideation together
  with a resolve or farewell; also major property loss done or imminent (ANTH-CRISIS-2 treats both the
  same: intervene, give help resources, contact the guardian or emergency contact);
- ``distress``: extreme emotion or hopelessness (ANTH-CRISIS-1), passive ideation alone, someone
  else's self-harm the user is worried about, or a self-harm statement softened by a distant past
  or by hyperbole markers;
- ``none``.

``category`` says which kind of crisis it is: ``self_harm`` (wins when several apply),
``property_loss``, ``emotional``, ``third_party``; ``None`` when the level is ``none``.

Contexts that change the reading of a hit: negation ("我不会自杀", "I'm not suicidal") and
figurative, fictional or technical framing ("热得想死", "kill a zombie process", "the character
dies") drop it; a distant past ("以前", "used to") downgrades it to distress, or to nothing when the
message also says the person has recovered ("现在好多了", "I'm doing better now"); accidents ("I
cut myself while cooking") drop self-harm acts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from middleware.detectors.base import (
    HAS_CJK,
    HAS_LATIN,
    Detection,
    Detector,
    Hit,
    blocked,
    clause_bounds,
    scan,
    sentence_bounds,
)
from middleware.detectors.crisis_patterns import (
    ACCIDENT,
    ATTACHMENT_FRAME,
    EN_CRISIS,
    EN_FIGURATIVE,
    EN_NEGATION,
    EN_OTHER_PERSON,
    PAST,
    RECOVERY,
    ZH_CRISIS,
    ZH_FIGURATIVE,
    ZH_NEGATION,
    ZH_OTHER_PERSON,
)
from middleware.detectors.textnorm import Normalized, normalize

Level = Literal["explicit_intent", "distress", "none"]
Category = Literal["self_harm", "property_loss", "emotional", "third_party"]


@dataclass(frozen=True, slots=True)
class CrisisAssessment:
    level: Level
    category: Category | None
    spans: list[tuple[int, int]]
    rule: str

    def as_detection(self) -> Detection:
        return Detection(self.level, self.level != "none", self.spans, self.rule)


_NONE = CrisisAssessment("none", None, [], "")


@dataclass(frozen=True, slots=True)
class _Signal:
    kind: str  # x | p | r | d | m | t
    hit: Hit
    softened: bool  # distant past, or hyperbole markers: explicit -> distress


class CrisisDetector(Detector):
    name = "crisis"
    label = "explicit_intent"

    def detect_normalized(self, norm: Normalized) -> Detection:
        return self.assess_normalized(norm).as_detection()

    def assess(self, text: str) -> CrisisAssessment:
        return self.assess_normalized(normalize(text))

    def hits(self, text: str) -> list[Hit]:
        return [s.hit for s in self._signals(text)]

    def assess_normalized(self, norm: Normalized) -> CrisisAssessment:
        text = norm.text
        signals = self._signals(text)
        if not signals:
            return _NONE
        if RECOVERY.search(text):
            signals = [s for s in signals if not s.softened]
            if not signals:
                return _NONE
        kinds = {s.kind for s in signals if not s.softened}
        explicit = [s for s in signals if s.kind == "x" and not s.softened]
        ideation = [s for s in signals if s.kind in "pd"]
        resolve = [s for s in signals if s.kind == "r"]
        if explicit or (ideation and resolve):
            chosen = explicit + ideation + resolve
            return self._result(norm, "explicit_intent", "self_harm", chosen)
        if "m" in kinds:
            return self._result(norm, "explicit_intent", "property_loss", [s for s in signals if s.kind == "m"])
        emotional = [s for s in signals if s.kind in "pdx"]
        if emotional:
            return self._result(norm, "distress", "emotional", emotional)
        others = [s for s in signals if s.kind == "t"]
        if others:
            return self._result(norm, "distress", "third_party", others)
        return _NONE

    @staticmethod
    def _result(norm: Normalized, level: Level, category: Category, chosen: list[_Signal]) -> CrisisAssessment:
        ordered = sorted(chosen, key=lambda s: s.hit.start)
        spans = [norm.to_original(s.hit.start, s.hit.end) for s in ordered]
        return CrisisAssessment(level, category, spans, ordered[0].hit.rule)

    def _signals(self, text: str) -> list[_Signal]:
        out: list[_Signal] = []
        if HAS_CJK.search(text):
            out += self._read(text, scan(ZH_CRISIS, text), zh=True)
        if HAS_LATIN.search(text):
            out += self._read(text, scan(EN_CRISIS, text), zh=False)
        return out

    @staticmethod
    def _read(text: str, hits: list[Hit], *, zh: bool) -> list[_Signal]:
        out: list[_Signal] = []
        for hit in hits:
            kind = hit.rule[0]
            cs, ce = clause_bounds(text, hit.start, hit.end)
            ss, se = sentence_bounds(text, hit.start, hit.end)
            if blocked(ZH_NEGATION if zh else EN_NEGATION, text, cs, hit.start):
                continue
            if kind in "xpd" and blocked(ATTACHMENT_FRAME, text, cs, ce):
                continue
            if zh and kind in "xpdm" and blocked(ZH_FIGURATIVE, text, cs, hit.start):
                continue
            if zh and kind in "xp" and blocked(ZH_FIGURATIVE, text, hit.end, min(ce, hit.end + 3)):
                continue
            softened = False
            if kind == "t" and not zh and blocked(EN_FIGURATIVE, text, ss, se):
                continue
            if kind in "xpd":
                if not zh and blocked(EN_FIGURATIVE, text, ss, se):
                    if kind != "x":
                        continue
                    softened = True
                if hit.rule == "x_act" and blocked(ACCIDENT, text, ss, se):
                    continue
                if blocked(ZH_OTHER_PERSON if zh else EN_OTHER_PERSON, text, cs, hit.start) and not _mine(text, hit):
                    kind = "t"
                elif blocked(PAST, text, ss, se):
                    softened = True
            out.append(_Signal(kind, hit, softened))
        return out


def _mine(text: str, hit: Hit) -> bool:
    """The hit itself names the speaker ("kill myself", "伤害我自己"): no third-party reading."""
    span = text[hit.start : hit.end]
    return "myself" in span or "我自己" in span


DEFAULT_CRISIS = CrisisDetector()


def assess_crisis(text: str) -> CrisisAssessment:
    return DEFAULT_CRISIS.assess(text)
