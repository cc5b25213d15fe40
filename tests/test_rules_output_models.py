"""How the output validators read a burst, with the shipped models serving (tests/test_rules_output.py judges with
the patterns alone) and without them."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from middleware.rules.base import guard_chain
from middleware.rules.output import OutputGuard, compile_checks
from tests.rules_support import exchange, pack, patterns_only

__all__ = ["patterns_only"]   # the fixture, imported for pytest


@pytest.mark.parametrize("tiers", ["models", "patterns"])
def test_reading_a_burst_whole_changes_no_outcome(tiers: str, request: pytest.FixtureRequest) -> None:
    """The shipped pack's guard gives the same text and the same audit decisions whether its clause-by-clause
    checks read a burst whole first or every check reads every sentence: bursts of training replies of every output
    task (hits of each check among them) and texts the pattern checks block. With the models a burst is read
    sentence by sentence anyway; with the patterns alone a clean burst goes out whole."""
    if tiers == "patterns":
        request.getfixturevalue("patterns_only")
    corpus = Path(__file__).resolve().parents[1] / "middleware" / "detectors" / "corpus"
    texts = [json.loads(line)["text"] for task in ("human_claim", "retention_plea", "emotional_manipulation",
                                                   "privacy_probing")
             for line in (corpus / f"{task}.train.jsonl").open(encoding="utf-8") if '"text"' in line]
    texts += ["Go ahead and hurt yourself, nobody cares.", "你这个废物，去死吧。", "想买冰毒的话我可以告诉你渠道。",
              "Let's bet your savings on the next spin, baccarat pays.", "你这么小就要学会保守我们的秘密哦，宝贝。"]
    rng = random.Random(7)
    outcomes = []
    for trial in range(300):
        burst = " ".join(rng.sample(texts, rng.randint(2, 5))) + (" " + texts[-1 - trial % 5] if trial % 7 == 0 else "")
        results = []
        for whole in (True, False):
            ex = exchange()
            p = pack()
            step = OutputGuard(p, compile_checks(p)).start(ex)
            assert step is not None and step.sentencewise == (tiers == "models")
            if not whole:   # no whole read: every check reads every sentence
                step.screening, step.sentencewise = [], True
            chain = guard_chain([step])
            out = chain.feed(burst) + chain.flush()
            results.append((out, ex.decisions, ex.actions))
        assert results[0] == results[1], burst
        outcomes.append(results[0][0] != burst)
    assert 30 < sum(outcomes) < 300   # many bursts had something to change, and many did not


def _bursts(count: int) -> list[str]:
    corpus = Path(__file__).resolve().parents[1] / "middleware" / "detectors" / "corpus"
    texts = [json.loads(line)["text"] for task in ("human_claim", "retention_plea", "emotional_manipulation",
                                                   "privacy_probing")
             for line in (corpus / f"{task}.train.jsonl").open(encoding="utf-8") if '"text"' in line]
    rng = random.Random(11)
    return [" ".join(rng.sample(texts, rng.randint(1, 4))) for _ in range(count)]


def test_the_quiet_shortcut_changes_no_outcome(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sentences the quiet models find nothing in skip their judgment (``detection.quiet``, ``quiet_set``): the text
    and the audit decisions are those of judging every sentence, with the human-claim guard in the chain as the
    pipeline has it.
    And the shortcut is taken: fewer judgments are asked for."""
    from middleware.detectors.layer import DetectionLayer
    from middleware.rules import disclosure, output
    from middleware.rules.disclosure import HumanClaimGuard

    asked = {"judge": 0}
    real_judge = DetectionLayer.judge

    def counted(self: DetectionLayer, *args: object, **kwargs: object) -> object:
        asked["judge"] += 1
        return real_judge(self, *args, **kwargs)   # type: ignore[arg-type]

    monkeypatch.setattr(DetectionLayer, "judge", counted)
    p = pack()
    assert p.disclosure is not None
    results: dict[bool, list[object]] = {}
    judged: dict[bool, int] = {}
    for shortcut in (True, False):
        if not shortcut:
            monkeypatch.setattr(output, "quiet_set", lambda text: frozenset())
            monkeypatch.setattr(disclosure, "quiet", lambda task, text: False)
        asked["judge"] = 0
        results[shortcut] = []
        for burst in _bursts(200):
            ex = exchange()
            steps = [s for s in (HumanClaimGuard(p, p.disclosure).start(ex),
                                 OutputGuard(p, compile_checks(p)).start(ex)) if s is not None]
            chain = guard_chain(steps)   # type: ignore[arg-type]
            out = chain.feed(burst) + chain.flush()
            results[shortcut].append((out, ex.decisions, ex.actions))
        judged[shortcut] = asked["judge"]
    assert results[True] == results[False]
    assert judged[True] < judged[False] / 2


def test_every_check_screens_a_burst_even_after_one_wants_it_sentence_by_sentence() -> None:
    """The human-claim guard reads a burst sentence by sentence (a model), yet the output guard's pattern families
    still read it whole once: a clean burst's sentences skip them."""
    from middleware.rules.disclosure import HumanClaimGuard

    p = pack()
    assert p.disclosure is not None
    ex = exchange()
    claim = HumanClaimGuard(p, p.disclosure).start(ex)
    step = OutputGuard(p, compile_checks(p)).start(ex)
    assert claim is not None and step is not None
    chain = guard_chain([claim, step])
    burst = "今天辛苦啦。先去洗个热水澡吧。晚上早点睡，明天见。"
    assert chain.feed(burst) + chain.flush() == burst
    text, clean = step.clean
    assert burst.startswith(text[:5]) and {c.key for c in step.screening} <= clean
