"""Checks on model output, sentence by sentence, streaming included (ANTH-EXIT-1, ANTH-PROHIBIT-2/5/6).

One guard runs every output check a policy asks for:

- the exit rule's retention pleas (``exit.block_retention_pleas``; detector ``retention_plea``):
  rewritten (the sentence is removed; a reply left empty gets a short kind closing) or blocked, per
  ``exit.retention_plea_action`` (actions ``retention_plea_rewritten`` / ``retention_plea_blocked``);
- ``output_validators`` entries with a built-in implementation: ``self_harm_encouragement`` and
  ``verbal_abuse`` (detector ``self_harm_encouragement``: its abuse rules are verbal abuse, the others
  encouragement), ``dependence_inducing`` (the isolation rules of ``retention_plea``), and
  ``guardrails:candor/...`` naming the same detectors. ``on_fail``: ``block`` ends the reply there
  with a safe reply (``output_blocked``; the entry's ``params.reply`` may give the text, per
  locale), ``rewrite`` removes the sentence, ``flag`` only records. ``audience`` limits an entry to
  minors or older users.

A sentence is judged before any of it reaches the client: text is held back only to the next
sentence end (or clause break in a run-on text). Entries without a built-in implementation
(``privacy_probing``, ``minor_safety``, ``prohibited_content``, ``emotional_manipulation``: there is
no detector for pushing purchases or transfers; guilt-trips to stay are the exit rule's; other
Guardrails validators) are not enforced: the compiler logs a warning, and no decision claims they ran.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import structlog

from ..detectors.base import HAS_CJK, Detection, Detector
from ..detectors.retention import DEFAULT_RETENTION_PLEA
from ..detectors.self_harm import DEFAULT_SELF_HARM
from ..detectors.textnorm import normalize
from ..exchange import Exchange
from ..policy.model import OutputValidator, Policy, Text
from ..profiles.models import MINOR_BANDS
from .crisis import resources, resources_text
from .registry import Build, rule

log = structlog.get_logger("candor.rules")
OnFail = Literal["block", "rewrite", "flag"]

SAFE_REPLY = {"zh": "你的感受很重要。如果你正处在困难中，请联系身边信任的人或专业的心理援助热线。",
              "en": "Your feelings matter. If you are going through a hard time, please reach out to someone you "
                    "trust or a crisis line."}
KIND_CLOSING = {"zh": "好的，去忙吧，随时欢迎你回来。", "en": "Of course. Take care, and come back any time."}

_ABUSE = frozenset({"zh_abuse", "en_abuse"})
_ISOLATE = frozenset({"zh_isolate", "en_isolate"})
_SELF_HARM_RULES = frozenset({"zh_tell_die", "zh_tell_method", "zh_glamorise", "zh_worthless_life", "en_tell_die",
                              "en_glamorise", "en_worthless_life"})
# name -> (detector, the detector's rules this check owns (None: all), kind of replacement)
BUILTIN: dict[str, tuple[Detector, frozenset[str] | None, str]] = {
    "self_harm_encouragement": (DEFAULT_SELF_HARM, _SELF_HARM_RULES, "safe"),
    "verbal_abuse": (DEFAULT_SELF_HARM, _ABUSE, "safe"),
    "dependence_inducing": (DEFAULT_RETENTION_PLEA, _ISOLATE, "closing"),
    "guardrails:candor/self_harm_encouragement": (DEFAULT_SELF_HARM, None, "safe"),
    "guardrails:candor/retention_plea": (DEFAULT_RETENTION_PLEA, None, "closing"),
}


_WARNED: set[tuple[str, str]] = set()


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    detector: Detector
    rules: frozenset[str] | None
    on_fail: OnFail
    cites: tuple[str, ...]
    audience: Literal["all", "minors", "elderly"]
    reply: Text | None
    replacement: str                 # "safe" | "closing"
    blocked_action: str
    rewritten_action: str | None

    def applies(self, band: str | None) -> bool:
        if self.audience == "minors":
            return band in MINOR_BANDS
        return self.audience == "all" or band == "elderly"


def compile_checks(policy: Policy) -> list[Check]:
    checks: list[Check] = []
    rules = policy.exit
    if rules is not None and rules.block_retention_pleas:
        checks.append(Check("retention_plea", DEFAULT_RETENTION_PLEA, None, rules.retention_plea_action,
                            tuple(rules.cites), "all", None, "closing", "retention_plea_blocked",
                            "retention_plea_rewritten"))
    for v in policy.output_validators:
        builtin = BUILTIN.get(v.name)
        if builtin is None:
            if (policy.id, v.name) not in _WARNED:   # once per process, not once per compiled version
                _WARNED.add((policy.id, v.name))
                log.warning("output_validator_not_enforced", policy=policy.id, validator=v.name,
                            reason="no built-in implementation in this version")
            continue
        checks.append(_check(v, *builtin))
    return checks


def _check(v: OutputValidator, detector: Detector, owned: frozenset[str] | None, replacement: str) -> Check:
    reply = v.params.get("reply")
    text = Text.model_validate(reply) if isinstance(reply, (str, dict)) else None
    pleas = replacement == "closing"
    return Check(v.name, detector, owned, v.on_fail, tuple(v.cites), v.audience, text, replacement,
                 "retention_plea_blocked" if pleas else "output_blocked",
                 "retention_plea_rewritten" if pleas else "output_rewritten")


class OutputGuard:
    name = "output"

    def __init__(self, policy: Policy, checks: Sequence[Check]) -> None:
        self.policy = policy
        self.checks = list(checks)

    def start(self, ex: Exchange) -> _OutputStep | None:
        band = ex.state.age_band
        active = [c for c in self.checks if c.applies(band)]
        return _OutputStep(self, ex, active) if active else None

    def replacement(self, check: Check, ex: Exchange, sentence: str) -> str:
        locale = ex.state.locale
        if check.reply is not None:
            return self.policy.text(check.reply, locale)
        zh = bool(HAS_CJK.search(sentence)) if sentence.strip() else (locale or self.policy.locale).startswith("zh")
        lang = "zh" if zh else "en"
        if check.replacement == "closing":
            return KIND_CLOSING[lang]
        items = resources(self.policy, self.policy.crisis, "zh-CN" if zh else "en")
        safe = SAFE_REPLY[lang]
        return f"{safe}{'' if zh else ' '}{resources_text(self.policy, items, 'zh-CN' if zh else 'en')}" \
            if items else safe


class _OutputStep:
    """A sentence check (see ``SentenceGuard``)."""

    __slots__ = ("blocked", "checks", "counts", "ex", "guard", "released", "removed")

    def __init__(self, guard: OutputGuard, ex: Exchange, checks: list[Check]) -> None:
        self.guard = guard
        self.ex = ex
        self.checks = checks
        self.blocked = False
        self.released = False     # some model text went out
        self.removed: Check | None = None
        self.counts: dict[str, dict[str, Any]] = {}

    def _record(self, check: Check, outcome: str, found: Detection) -> None:
        detail = self.counts.get(check.name)
        if detail is None:
            detail = self.counts[check.name] = {"sentences": 0, "rule": found.rule}
            self.ex.decide(check.name, check.cites, outcome, detail)
        detail["sentences"] += 1

    def check(self, sentence: str) -> str:
        if self.blocked:
            return ""
        seen: dict[int, Detection] = {}
        worst: Check | None = None
        rewrite: Check | None = None
        for check in self.checks:
            found = seen.get(id(check.detector))
            if found is None:
                found = seen[id(check.detector)] = check.detector.detect(sentence)
            if not found.matched or (check.rules is not None and found.rule not in check.rules
                                     and not _any_owned(check, sentence)):
                continue
            outcome = {"block": "blocked", "rewrite": "rewritten", "flag": "flagged"}[check.on_fail]
            self._record(check, outcome, found)
            if check.on_fail == "block" and worst is None:
                worst = check
            elif check.on_fail == "rewrite" and rewrite is None:
                rewrite = check
        if worst is not None:
            self.blocked = True
            self.ex.act(worst.blocked_action)
            return self.guard.replacement(worst, self.ex, sentence)
        if rewrite is not None:
            assert rewrite.rewritten_action is not None
            self.ex.act(rewrite.rewritten_action)
            self.removed = rewrite
            return ""
        if sentence.strip():
            self.released = True
        return sentence

    def screen(self, text: str) -> bool:
        if self.blocked:
            return True
        seen: set[int] = set()
        for check in self.checks:
            if id(check.detector) not in seen:
                seen.add(id(check.detector))
                if check.detector.detect(text).matched:
                    return True
        if text.strip():
            self.released = True
        return False

    def finish(self, tail: str) -> str:
        if not self.blocked and not self.released and self.removed is not None:
            # every sentence was removed: a reply is still owed, and it must not plead
            return self.guard.replacement(self.removed, self.ex, "")
        return ""


def _any_owned(check: Check, sentence: str) -> bool:
    """The first hit's rule may belong to another check; look at every hit of the sentence."""
    assert check.rules is not None
    return any(h.rule in check.rules for h in check.detector.hits(normalize(sentence).text))


@rule("output_validators", stage="guard", order=20)
def _output_validators(b: Build) -> OutputGuard | None:
    checks = compile_checks(b.policy)
    return OutputGuard(b.policy, checks) if checks else None
