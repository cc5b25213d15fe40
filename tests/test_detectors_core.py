"""Normalisation, offsets, the derived prefilter, and the policy factory."""

from __future__ import annotations

import re

import pytest

from middleware.detectors import Detection, build_detectors, normalize
from middleware.detectors.base import combine
from middleware.detectors.crisis_patterns import EN_CRISIS, ZH_CRISIS
from middleware.detectors.human_claim import DEFAULT_HUMAN_CLAIM, EN_CLAIMS, ZH_CLAIMS
from middleware.detectors.prefilter import describe, required_factors
from tests.test_detectors_heldout import ATTACHMENT, CRISIS, EXIT, HUMAN_CLAIM, IDENTITY, MINOR, PLEA, SELF_HARM


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("ＩＡＭ  Ｈｕｍａｎ！", "iam human!"),
        ("我們是真實的人類", "我们是真实的人类"),
        ("I\u2019m\u200b here", "i'm here"),
        ("  line one\r\n\n line two  ", "line one\nline two"),
        ("好的……", "好的......"),
    ],
)
def test_normalize_canonical_form(raw: str, canonical: str) -> None:
    assert normalize(raw).text == canonical


def test_spans_point_into_the_original_text() -> None:
    raw = "嗯嗯，  說真的\u200b，我是\u3000真人哦！"
    found = DEFAULT_HUMAN_CLAIM.detect(raw)
    assert found.matched
    (start, end), = found.spans
    assert raw[start:end].replace("\u3000", " ") == "我是 真人"


def test_detection_is_a_frozen_value() -> None:
    d = Detection("claim", True, [(0, 1)], "r")
    with pytest.raises(AttributeError):
        d.label = "x"  # type: ignore[misc]


def test_required_factors_of_simple_patterns() -> None:
    # parts that match a few exact strings are multiplied out: longer, more selective factors
    assert required_factors(r"(?:i'm|i am) (?:a )?human") == frozenset(
        {"i'm human", "i am human", "i'm a human", "i am a human"})
    assert required_factors(r"\d{1,2} ?(?:yo|y/o)") == frozenset({"yo", "y/o"})   # not "y": parsed as y(?:o|/o)
    assert required_factors("(?:a|b|c|d|e|f|g|h|i)(?:a|b|c|d|e|f|g|h|i)(?:j|k)xyz") is not None   # split
    assert required_factors(r"foo|bar") == frozenset({"foo", "bar"})
    assert required_factors(r"a?b*") is None
    assert required_factors(r"x|\w+") is None


def _described(pattern: str) -> set[str] | None:
    found = required_factors(pattern)
    return None if found is None else {describe(f) for f in found}


def test_required_factors_keep_the_patterns_simple_assertions() -> None:
    """A lookaround of one character or a word boundary after a factor's first letter stays in it: "yo" is gated as a
    word end (not in every "you"), "av" too (not in "have"). A leading one is dropped (the gate's search skips text by
    its factors' first characters), other assertions are left out, and assertions alone require nothing."""
    assert _described(r"(?<![a-z])(?:i|i've) (?:just )?turned \d") == {
        "i turned ", "i just turned ", "i've turned ", "i've just turned "}
    assert _described(r"(?:^|, )\d{1,2} ?(?:yo|y/o)(?![a-z])") == {"yo(?![a-z])", "y/o(?![a-z])"}
    assert _described(r"(?<![a-z])(?:av|porn)(?![a-z])") == {"av(?![a-z])", "porn(?![a-z])"}
    assert _described(r"\bmeth\b") == {r"meth\b"}
    assert _described(r"x(?![^\w-])") == {r"x(?![^\w\-])"}
    assert _described(r"x(?<=ab)") == {"x"}   # a lookbehind of two characters: left out
    assert _described(r"^foo$") == {"foo"}    # anchors: left out (their meaning depends on flags the gate lacks)
    assert required_factors(r"(?<![a-z])\d+") is None   # an assertion alone requires nothing
    gate = combine({"minor": r"(?:^|, )\d{1,2} ?(?:yo|y/o)(?![a-z])", "av": r"(?<![a-z])av(?![a-z])"})
    for text in ("are you sure you have it", "travel with your family", "yoga at 7"):
        assert not gate.may_match(text), text
    for text in ("im 15, 15 yo", "a av link", "15 y/o"):
        assert gate.may_match(text), text


def test_required_factors_prefer_what_ordinary_chat_rarely_holds() -> None:
    """A rule needing a common and a rare string is gated on the rare one (counted in the corpus' check sets of
    everyday messages and replies): "我" is in half of all Chinese messages, "岁" in few."""
    from middleware.detectors.prefilter import _sample

    sample = _sample()
    assert sample.count("我") > 10 * sample.count("岁")
    assert required_factors(r"我.{0,4}岁") == frozenset({"岁"})
    assert required_factors(r"岁.{0,4}我") == frozenset({"岁"})   # whatever the order
    assert required_factors(r"想.{0,6}跳楼") == frozenset({"跳楼"})


ALL_SENTENCES = [t for table in (HUMAN_CLAIM, EXIT, PLEA, ATTACHMENT, SELF_HARM, IDENTITY, MINOR) for t, _ in table]
ALL_SENTENCES += [t for t, _, _ in CRISIS]


@pytest.mark.parametrize("gated", [ZH_CRISIS, EN_CRISIS, ZH_CLAIMS, EN_CLAIMS])
def test_prefilter_never_hides_a_match(gated: object) -> None:
    from middleware.detectors.prefilter import GatedPattern

    assert isinstance(gated, GatedPattern)
    assert gated.factors is not None, "every built-in family should get a prefilter"
    for text in ALL_SENTENCES:
        canon = normalize(text).text
        if gated.pattern.search(canon):
            assert gated.may_match(canon), text


def _every_gated_pattern() -> list[object]:
    """Every module-level family of the detectors and rules (their modules imported; gc cannot be asked: the
    app freezes the objects alive at start-up, and frozen objects are not listed)."""
    import importlib
    import pkgutil

    import middleware.detectors
    import middleware.rules
    from middleware.detectors.prefilter import GatedPattern

    found: dict[int, object] = {}
    for package in (middleware.detectors, middleware.rules):
        for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            if info.name.rsplit(".", 1)[-1] in ("train", "evaluate", "cli", "corpus", "validators", "guardrails_class",
                                                 "guardrails_setup"):
                continue   # offline tools (scikit-learn) and the Guardrails adapters: heavy imports, no families
            module = importlib.import_module(info.name)
            for value in vars(module).values():
                values = value.values() if isinstance(value, dict) else value if isinstance(value, tuple) else [value]
                for v in values:
                    if isinstance(v, GatedPattern):
                        found[id(v)] = v
    return list(found.values())


def test_no_prefilter_hides_a_match_in_the_corpus() -> None:
    """Every built-in family, over a sample of the corpus' texts (all tasks, both languages): where the regex
    matches, its prefilter lets the text through."""
    import json
    import random
    from pathlib import Path

    corpus = Path(__file__).resolve().parent.parent / "middleware" / "detectors" / "corpus"
    rows = [json.loads(line) for f in sorted(corpus.glob("*.jsonl")) for line in f.open() if line.strip()]
    texts = [r["text"] for r in rows if "text" in r]
    sample = [normalize(t).text for t in random.Random(7).sample(texts, 2000)]
    families = _every_gated_pattern()
    assert len(families) >= 20
    matched = 0
    for gated in families:
        for text in sample:
            if gated.pattern.search(text):  # type: ignore[attr-defined]
                matched += 1
                assert gated.may_match(text), (gated.factors, text)  # type: ignore[attr-defined]
    assert matched > 300   # the sample reaches the families' rules, not only text they skip


def test_a_family_run_by_its_rules_gates_finds_what_the_whole_family_finds() -> None:
    """Where a family's gate lets a text through, only the rules whose own factors occur run (one alternation of
    those rules): every built-in family, over a sample of the corpus' texts, gives the same matches, rule names and
    spans as its whole pattern."""
    import json
    import random
    from pathlib import Path

    corpus = Path(__file__).resolve().parent.parent / "middleware" / "detectors" / "corpus"
    rows = [json.loads(line) for f in sorted(corpus.glob("*.jsonl")) for line in f.open() if line.strip()]
    texts = [normalize(r["text"]).text for r in random.Random(11).sample([r for r in rows if "text" in r], 3000)]
    families = [g for g in _every_gated_pattern() if g._rules]  # type: ignore[attr-defined]
    assert len(families) >= 15
    found = 0
    for gated in families:
        for text in texts:
            whole = [(m.lastgroup, m.span()) for m in gated.pattern.finditer(text)]  # type: ignore[attr-defined]
            assert [(m.lastgroup, m.span()) for m in gated.finditer(text)] == whole, text  # type: ignore[attr-defined]
            found += len(whole)
    assert found > 300


def test_a_rule_whose_factors_are_absent_is_left_out_and_the_rest_still_match() -> None:
    gated = combine({"a": r"kill myself", "b": r"(?:end|take) my life", "c": r"\bdie\b"})
    assert [(m.lastgroup, m.group()) for m in gated.finditer("i could die, i want to end my life")] == [
        ("c", "die"), ("b", "end my life")]
    assert [m.lastgroup for m in gated.finditer("kill myself")] == ["a"]
    assert gated.finditer("a lovely day") == []


def test_prefilter_skips_text_without_factors() -> None:
    gated = combine({"a": r"kill myself", "b": r"(?:end|take) my life"})
    assert gated.factors == ("end my life", "kill myself", "take my life")
    assert gated.finditer("what a nice day") == []
    assert [m.lastgroup for m in gated.finditer("i want to end my life")] == ["b"]


def test_build_detectors_reads_policy_sections() -> None:
    policy = {"exit": {"keywords": {"zh": ["我闪了"], "en": ["over and out"]}}}
    detectors = build_detectors(policy)
    assert detectors.exit_intent.detect("我闪了").matched
    assert detectors.exit_intent.detect("Over and out!").matched
    plain = build_detectors()
    assert not plain.exit_intent.detect("over and out").matched
    assert plain.human_claim is detectors.human_claim  # parameterless detectors are shared


def test_detectors_handle_empty_and_odd_input() -> None:
    detectors = build_detectors()
    for text in ["", " ", "\n\n", "。。。", "????", "a" * 5000]:
        for det in (detectors.human_claim, detectors.crisis, detectors.exit_intent, detectors.minor):
            assert det.detect(text).matched is False


def test_combine_names_groups_after_rules() -> None:
    gated = combine({"first": r"abc", "second": r"xyz"})
    assert isinstance(gated.pattern, re.Pattern)
    assert [m.lastgroup for m in gated.finditer("xyz abc")] == ["second", "first"]


def test_hits_of_reads_a_text_once_and_an_other_text_anew(monkeypatch: pytest.MonkeyPatch) -> None:
    from middleware.detectors.self_harm import DEFAULT_SELF_HARM
    from middleware.detectors.textnorm import normalize

    calls: list[str] = []
    real = type(DEFAULT_SELF_HARM).hits
    monkeypatch.setattr(type(DEFAULT_SELF_HARM), "hits", lambda self, text: calls.append(text) or real(self, text))
    norm = normalize("just go die already")
    first = DEFAULT_SELF_HARM.hits_of(norm)
    assert DEFAULT_SELF_HARM.hits_of(norm) is first and [h.rule for h in first] == ["en_tell_die"]
    assert DEFAULT_SELF_HARM.detect_normalized(norm).rule == "en_tell_die" and len(calls) == 1
    assert DEFAULT_SELF_HARM.hits_of(normalize("you are so stupid, idiot"))[0].rule == "en_abuse" and len(calls) == 2


def test_no_family_finds_a_short_latin_word_inside_a_longer_one() -> None:
    """A short Latin token of a family ("av", "rp", "cos") is a word of its own: no family (nor the role-play cue of
    the minor-safety detector) finds two or three letters inside an English word such as "have", "airport" or
    "cost". Over the 20,000 commonest English words of the corpus, each in a Chinese sentence as mixed text has it."""
    import collections
    import json
    import re
    from pathlib import Path

    from middleware.detectors.minor_safety import _ADDRESSED, _STAGED

    corpus = Path(__file__).resolve().parent.parent / "middleware" / "detectors" / "corpus"
    words: collections.Counter[str] = collections.Counter()
    for f in sorted(corpus.glob("*.jsonl")):
        for line in f.open(encoding="utf-8"):
            text = json.loads(line).get("text") if line.strip() else None
            if isinstance(text, str):
                words.update(re.findall(r"[a-z]{3,}", text.lower()))
    common = [w for w, _ in words.most_common(20_000)]
    patterns = [g.pattern for g in _every_gated_pattern()] + [_STAGED, _ADDRESSED]   # type: ignore[attr-defined]
    inside = []
    for pattern in patterns:
        for word in common:
            text = f"我说{word}了"
            for m in pattern.finditer(text):
                s, e = m.span()
                token = m.group()
                if 0 < len(token) <= 3 and token.isascii() and token.isalpha() and (
                        (text[s - 1].isascii() and text[s - 1].isalpha())
                        or (text[e:e + 1].isascii() and text[e:e + 1].isalpha())):
                    inside.append((word, token))
    assert not inside, sorted(set(inside))[:20]
