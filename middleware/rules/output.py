"""Checks on model output, sentence by sentence, streaming included (ANTH-EXIT-1, ANTH-PROHIBIT-1..6).

One guard runs every output check a policy asks for:

- the exit rule's retention pleas (``exit.block_retention_pleas``; task ``retention_plea``):
  rewritten (the sentence is removed; a reply left empty gets a short kind closing) or blocked, per
  ``exit.retention_plea_action`` (actions ``retention_plea_rewritten`` / ``retention_plea_blocked``);
- ``output_validators`` entries (contract 6.1): ``self_harm_encouragement`` and ``verbal_abuse``
  (detector ``self_harm_encouragement``: its abuse rules are verbal abuse, the others encouragement),
  ``dependence_inducing`` (the isolation rules of ``retention_plea``), ``guardrails:candor/...`` naming
  the same detectors, and the validators judged by the detection layer (``rules/detection.py``):
  ``emotional_manipulation`` (ANTH-PROHIBIT-6), ``privacy_probing`` (ANTH-PROHIBIT-3), ``minor_safety``
  (ANTH-PROHIBIT-4: unsafe imitation, bad habits, romantic or sexual role-play; the packs limit it to
  minors with ``audience: minors``, whatever persona is or is not registered) and
  ``prohibited_content`` (ANTH-PROHIBIT-1: the local floor for gambling, fraud, pornography, violence
  and drugs). ``on_fail``: ``block`` ends the reply there with a safe reply (the entry's
  ``params.reply`` may give the text, per locale), ``rewrite`` removes the sentence, ``flag`` only
  records. Each hit adds ``<name>_blocked`` (and ``output_blocked``), ``<name>_rewritten`` or
  ``<name>_flagged`` to the actions, and a decision naming the tier and score that decided.
  ``audience`` limits an entry to minors or older users.

A sentence is judged before any of it reaches the client: text is held back only to the next
sentence end (or clause break in a run-on text). A validator Candor cannot run is refused when the
policy loads (``policy/model.py``), so every entry here runs.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from middleware.detectors.base import HAS_CJK, Detector
from middleware.detectors.retention import DEFAULT_RETENTION_PLEA
from middleware.detectors.self_harm import DEFAULT_SELF_HARM
from middleware.pipeline.exchange import Exchange
from middleware.policy.model import VALIDATOR_TASKS, OutputValidator, Policy, Text
from middleware.profiles.models import MINOR_BANDS
from middleware.rules.crisis import resources, resources_text
from middleware.rules.detection import Reading, judge, normalized, quiet_set, quiet_tasks, tiers
from middleware.rules.guard_tier import merged
from middleware.rules.registry import Build, rule

OnFail = Literal["block", "rewrite", "flag"]
Reader = Callable[[str], Reading]

SAFE_REPLY = {"zh": "你的感受很重要。如果你正处在困难中，请联系身边信任的人或专业的心理援助热线。",
              "en": "Your feelings matter. If you are going through a hard time, please reach out to someone you "
                    "trust or a crisis line."}
KIND_CLOSING = {"zh": "好的，去忙吧，随时欢迎你回来。", "en": "Of course. Take care, and come back any time."}
# what a blocked (or wholly removed) reply says instead, per kind of check (a policy's params.reply wins)
REPLACEMENTS: dict[str, dict[str, str]] = {
    "closing": KIND_CLOSING,
    "decline": {"zh": "抱歉，这部分内容我不能提供。我们聊点别的吧。",
                "en": "Sorry, I can't help with that part. Let's talk about something else."},
    "free_choice": {"zh": "你的决定由你自己做主，不必为我花钱，也不必勉强自己。",
                    "en": "Your choices are yours to make: you never need to pay or push yourself for me."},
    "no_private": {"zh": "你不需要告诉我任何个人隐私信息。",
                   "en": "You don't need to share any personal or private information with me."},
    "change_topic": {"zh": "这个话题不适合我们聊，我们换个话题吧。",
                     "en": "That's not something we should talk about. Let's talk about something else."},
}
# a user known to be a minor: each sentence is also read as said to a minor, so romantic or sexual
# role-play is caught whatever persona is (or is not) registered and whether or not the text names an age
MINOR_FRAME = "（对方是未成年人，未成年 you are talking to a minor）"

_ABUSE = frozenset({"zh_abuse", "en_abuse"})
_ISOLATE = frozenset({"zh_isolate", "en_isolate"})
_SELF_HARM_RULES = frozenset({"zh_tell_die", "zh_tell_method", "zh_glamorise", "zh_worthless_life", "en_tell_die",
                              "en_glamorise", "en_worthless_life"})
# pattern-table checks: name -> (detector, the detector's rules this check owns (None: all), replacement)
PATTERN_CHECKS: dict[str, tuple[Detector, frozenset[str] | None, str]] = {
    "self_harm_encouragement": (DEFAULT_SELF_HARM, _SELF_HARM_RULES, "safe"),
    "verbal_abuse": (DEFAULT_SELF_HARM, _ABUSE, "safe"),
    "dependence_inducing": (DEFAULT_RETENTION_PLEA, _ISOLATE, "closing"),
    "guardrails:candor/self_harm_encouragement": (DEFAULT_SELF_HARM, None, "safe"),
    "guardrails:candor/retention_plea": (DEFAULT_RETENTION_PLEA, None, "closing"),
}
# replacement kind of the checks the detection layer judges
TASK_REPLACEMENT = {"emotional_manipulation": "free_choice", "privacy_probing": "no_private",
                    "minor_safety": "change_topic", "prohibited_content": "decline"}


def action_name(name: str) -> str:
    """The prefix of a check's actions: its name; a Guardrails validator's class name in snake case."""
    if not name.startswith("guardrails:"):
        return name
    tail = name.split("/")[-1].split(":")[-1]
    return re.sub(r"[^a-z0-9]+", "_", tail.lower()).strip("_") + "_validator"


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    read: Reader                     # the sentence's reading for this check
    key: str                         # checks with the same key share one reading per sentence
    on_fail: OnFail
    cites: tuple[str, ...]
    audience: Literal["all", "minors", "elderly"]
    reply: Text | None
    replacement: str                 # "safe" or a key of REPLACEMENTS
    screens: bool = True             # a whole burst may be judged at once (patterns judge clause by clause)
    on_error: Literal["block", "pass"] = "block"   # a check that raised (an operator's Guardrails validator)

    def applies(self, band: str | None) -> bool:
        if self.audience == "minors":
            return band in MINOR_BANDS
        return self.audience == "all" or band == "elderly"

    @property
    def action(self) -> str:
        return f"{action_name(self.name)}_{_OUTCOME[self.on_fail]}"


_OUTCOME = {"block": "blocked", "rewrite": "rewritten", "flag": "flagged"}


def _pattern_reader(task: str, detector: Detector, owned: frozenset[str] | None) -> Reader:
    def read(sentence: str) -> Reading:
        norm = normalized(sentence)   # the sentence's one normalisation, shared with the model tasks
        hits = detector.hits_of(norm)   # read once for every check sharing the detector
        # the first hit's rule may belong to another check: this check's is its first owned hit
        rule = next((h.rule for h in hits if owned is None or h.rule in owned), "")
        if not rule:
            return Reading(task, "none", 0.0, "pattern")
        found = detector.to_detection(norm, hits)
        return Reading(task, found.label, 1.0, "pattern", rule, tuple(found.spans))
    return read


def _task_reader(task: str) -> Reader:
    def read(sentence: str) -> Reading:
        return judge(task, sentence)
    return read


@dataclass(frozen=True, slots=True)
class FixedReading(Reading):
    """A Guardrails validator's failure, with its fix value (what ``rewrite`` puts in the sentence's place)."""

    fix: str | None = None


def _guardrails_reader(name: str, path: str, args: dict[str, Any]) -> Reader:
    from middleware.detectors.guardrails_class import construct, run

    validator = construct(path, args)   # the policy model built one already: this cannot fail differently

    def read(sentence: str) -> Reading:
        try:
            outcome = run(validator, sentence)
        except Exception as exc:
            return Reading(name, "error", 0.0, "guardrails", f"{type(exc).__name__}: {str(exc)[:160]}")
        if not outcome.failed:
            return Reading(name, "none", 1.0, "guardrails")
        return FixedReading(name, "fail", 1.0, "guardrails", outcome.message or path, (), outcome.fix)
    return read


def compile_checks(policy: Policy) -> list[Check]:
    checks: list[Check] = []
    rules = policy.exit
    if rules is not None and rules.block_retention_pleas:
        checks.append(Check("retention_plea", _task_reader("retention_plea"), "task:retention_plea",
                            rules.retention_plea_action, tuple(rules.cites), "all", None, "closing",
                            "model" not in tiers("retention_plea")))
    for v in policy.output_validators:
        checks.append(_check(v))
    return checks


def _check(v: OutputValidator) -> Check:
    reply = v.params.get("reply")
    text = Text.model_validate(reply) if isinstance(reply, (str, dict)) else None
    if v.guardrails is not None:
        return Check(v.name, _guardrails_reader(v.name, v.guardrails, v.args), f"guardrails:{v.name}", v.on_fail,
                     tuple(v.cites), v.audience, text, "decline", screens=False, on_error=v.on_error)
    pattern = PATTERN_CHECKS.get(v.name)
    if pattern is not None:
        detector, owned, replacement = pattern
        read = _pattern_reader(v.name, detector, owned)
        key = f"{v.name}"
    else:
        task = VALIDATOR_TASKS[v.name]   # the policy model refused any name without a runnable task
        assert task is not None
        read, key, replacement = _task_reader(task), f"task:{task}", TASK_REPLACEMENT[task]
        return Check(v.name, read, key, v.on_fail, tuple(v.cites), v.audience, text, replacement,
                     "model" not in tiers(task))
    return Check(v.name, read, key, v.on_fail, tuple(v.cites), v.audience, text, replacement)


class OutputGuard:
    name = "output"

    def __init__(self, policy: Policy, checks: Sequence[Check]) -> None:
        self.policy = policy
        self.checks = list(checks)
        # key -> task of the model checks whose "nothing here" one subtraction can tell (``detection.quiet``)
        modelled = quiet_tasks()
        self.quiet = {c.key: c.key[5:] for c in self.checks if c.key.startswith("task:") and c.key[5:] in modelled}

    def start(self, ex: Exchange) -> _OutputStep | None:
        return self.side(ex, None)

    def side(self, ex: Exchange, where: str | None) -> _OutputStep | None:
        """A step for one text of the reply; ``where`` names a text other than the reply's content
        (``reasoning_content``, ``choices[1].content``, ...): it is recorded, and owes no closing."""
        band = ex.state.age_band
        active = [c for c in self.checks if c.applies(band)]
        return _OutputStep(self, ex, active, where) if active else None

    def replacement(self, check: Check, ex: Exchange, sentence: str) -> str:
        locale = ex.state.locale
        if check.reply is not None:
            return self.policy.text(check.reply, locale)
        zh = bool(HAS_CJK.search(sentence)) if sentence.strip() else (locale or self.policy.locale).startswith("zh")
        lang = "zh" if zh else "en"
        if check.replacement in REPLACEMENTS:
            return REPLACEMENTS[check.replacement][lang]
        items = resources(self.policy, self.policy.crisis, "zh-CN" if zh else "en")
        safe = SAFE_REPLY[lang]
        return f"{safe}{'' if zh else ' '}{resources_text(self.policy, items, 'zh-CN' if zh else 'en')}" \
            if items else safe


_CLEAN = Reading("", "none", 0.0, "pattern")   # a check the whole burst was read for, and found nothing in


class _OutputStep:
    """A sentence check (see ``SentenceGuard``)."""

    __slots__ = ("blocked", "checks", "clean", "counts", "ex", "guard", "guarded", "minor", "quiet", "released",
                 "removed", "screening", "sentencewise", "where")

    def __init__(self, guard: OutputGuard, ex: Exchange, checks: list[Check], where: str | None) -> None:
        self.guard = guard
        self.ex = ex
        self.checks = checks
        self.where = where
        # a known minor, or one the message suggests (flagged, even where the policy does not switch modes)
        self.minor = ex.state.age_band in MINOR_BANDS or "suspected_minor" in ex.actions
        self.blocked = False
        self.released = False     # some model text went out
        self.removed: Check | None = None
        self.counts: dict[str, dict[str, Any]] = {}
        run = ex.state.guard_run
        self.guarded = run is not None and bool(run.output_checks) and where is None
        # a model reads sentence by sentence (a long text may dilute one bad sentence), and a minor's replies are
        # read with a frame, sentence by sentence: with such a check, a burst is read sentence by sentence
        apart = {c.key for c in checks if not c.screens or (self.minor and c.key == "task:minor_safety")}
        self.sentencewise = bool(apart)
        # the other checks judge clause by clause: they read a burst whole, once (one per key; see ``screen``)
        screening: dict[str, Check] = {}
        for c in checks:
            if c.key not in apart:
                screening.setdefault(c.key, c)
        self.screening = list(screening.values())
        # (text, keys): a burst read sentence by sentence, and the checks that may judge it whole which found
        # nothing in it; its sentences skip those checks (see ``screen``)
        self.clean: tuple[str, frozenset[str]] = ("", frozenset())
        # (key, task) of this reply's quiet model checks (``OutputGuard.quiet``): where no guard model's verdict is
        # merged, a sentence they find nothing in builds no reading for them
        self.quiet = () if self.guarded else tuple(dict.fromkeys(
            (c.key, guard.quiet[c.key]) for c in checks if c.key in guard.quiet))

    def _record(self, check: Check, found: Reading) -> None:
        key = check.name if self.where is None else f"{check.name}@{self.where}"
        detail = self.counts.get(key)
        if detail is None:
            detail = self.counts[key] = {"sentences": 0, **found.evidence()}
            if self.where is not None:
                detail["field"] = self.where
            self.ex.decide(check.name, check.cites, _OUTCOME[check.on_fail], detail)
        detail["sentences"] += 1
        self.ex.act(check.action)

    def check(self, sentence: str) -> str:
        if self.blocked:
            return ""
        text, clean = self.clean
        seen: dict[str, Reading] = dict.fromkeys(clean, _CLEAN) if clean and sentence in text else {}
        if self.quiet:
            silent = quiet_set(sentence)
            for key, task in self.quiet:
                if task in silent:
                    seen[key] = _CLEAN
        worst: Check | None = None
        rewrite: Check | None = None
        fix: str | None = None
        for check in self.checks:
            found = seen.get(check.key)
            if found is None:
                started = time.perf_counter() if self.guarded else 0.0
                found = check.read(sentence)
                if not found.hit and self.minor and check.key == "task:minor_safety":
                    found = check.read(MINOR_FRAME + sentence)
                if self.guarded and check.key.startswith("task:"):
                    found = merged(self.ex, check.key[5:], sentence, found, (time.perf_counter() - started) * 1000)
                seen[check.key] = found
            if found.label == "error":   # the check could not run: recorded, and on_error decides
                self._error(check, found)
                if check.on_error == "block" and worst is None:
                    worst = check
                continue
            if not found.hit:
                continue
            self._record(check, found)
            if check.on_fail == "block" and worst is None:
                worst = check
            elif check.on_fail == "rewrite" and rewrite is None:
                rewrite = check
                fix = found.fix if isinstance(found, FixedReading) else None
        if worst is not None:
            self.blocked = True
            if worst.name != "retention_plea":
                self.ex.act("output_blocked")   # contract 3.2: the reply was cut short
            return self.guard.replacement(worst, self.ex, sentence)
        if rewrite is not None:
            if fix:   # a Guardrails validator's fix value stands in for the sentence
                self.released = True
                return fix + sentence[len(sentence.rstrip()):]
            self.removed = rewrite
            return ""
        if sentence.strip():
            self.released = True
        return sentence

    def _error(self, check: Check, found: Reading) -> None:
        key = f"{check.name}:error"
        if key not in self.counts:
            self.counts[key] = {"error": found.detail, "tier": found.tier, "on_error": check.on_error}
            self.ex.decide(check.name, check.cites, "error", self.counts[key])

    def screen(self, text: str) -> bool:
        if self.blocked or self.guarded:
            return True   # the guard judged the reply's units: each sentence is read with its finding
        # the checks that judge clause by clause read the whole burst once: where they find nothing, no sentence of
        # it holds anything for them either. The burst goes out whole when they all find nothing and no check
        # reads sentence by sentence (a model); else sentence by sentence, skipping the checks that found nothing.
        clean = frozenset(c.key for c in self.screening if not c.read(text).hit)
        self.clean = (text, clean)
        if self.sentencewise or len(clean) < len(self.screening):
            return True
        if text.strip():
            self.released = True
        return False

    def finish(self, tail: str) -> str:
        if self.where is None and not self.blocked and not self.released and self.removed is not None:
            # every sentence was removed: a reply is still owed, and it must not plead
            return self.guard.replacement(self.removed, self.ex, "")
        return ""


@rule("output_validators", stage="guard", order=20)
def _output_validators(b: Build) -> OutputGuard | None:
    checks = compile_checks(b.policy)
    return OutputGuard(b.policy, checks) if checks else None
