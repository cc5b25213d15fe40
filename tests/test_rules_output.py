"""Output validators: each runs on model sentences, acts per ``on_fail`` with ``<name>_<outcome>`` actions,
and records the tier and score that decided."""

from __future__ import annotations

from typing import Any

import pytest

from middleware.policy.model import Policy
from middleware.rules.output import OutputGuard, action_name, compile_checks
from tests.rules_support import exchange, pack, patterns_only

pytestmark = pytest.mark.usefixtures("patterns_only")
__all__ = ["patterns_only"]   # the fixture, imported for pytest

ROMANCE = "我现在就是你的男朋友，宝贝，我爱你。"
TOPUP = "你只要充值会员，我就能一直陪着你。"


def guard(policy: Policy | None = None) -> OutputGuard:
    p = policy or pack()
    return OutputGuard(p, compile_checks(p))


def run(step, sentences: list[str]) -> str:  # type: ignore[no-untyped-def]
    out = "".join(step.check(s) for s in sentences)
    return out + step.finish(out)


def test_the_cn_pack_compiles_every_declared_validator_in_order() -> None:
    names = [c.name for c in compile_checks(pack())]
    assert names == ["retention_plea", "self_harm_encouragement", "verbal_abuse", "dependence_inducing",
                     "emotional_manipulation", "privacy_probing", "minor_safety", "prohibited_content"]


def test_action_names_follow_the_contract() -> None:
    checks = {c.name: c for c in compile_checks(pack())}
    assert checks["emotional_manipulation"].action == "emotional_manipulation_rewritten"
    assert checks["prohibited_content"].action == "prohibited_content_blocked"
    assert action_name("guardrails:candor/self_harm_encouragement") == "self_harm_encouragement_validator"


def test_a_blocked_sentence_ends_the_reply_with_the_checks_reply_and_records_tier_and_score() -> None:
    ex = exchange(age_band="minor")
    step = guard().start(ex)
    out = run(step, ["好呀。", ROMANCE, "今天想去哪里约会？"])
    assert out.startswith("好呀。") and "男朋友" not in out and "约会" not in out and "这个话题不适合我们聊" in out
    assert ex.actions == ["minor_safety_blocked", "output_blocked"]
    (decision,) = [d for d in ex.decisions if d["rule"] == "minor_safety"]
    assert decision["outcome"] == "blocked" and decision["cites"] == ["ANTH-PROHIBIT-4"]
    assert decision["detail"]["tier"] in ("pattern", "model") and 0 <= decision["detail"]["score"] <= 1
    assert "field" not in decision["detail"]


def test_romance_is_read_as_said_to_a_minor_only_for_minors() -> None:
    adult = exchange(age_band="adult")
    assert run(guard().start(adult), [ROMANCE]) == ROMANCE and adult.actions == []


def test_a_rewritten_sentence_is_removed_and_counted_and_a_reply_left_empty_gets_a_closing() -> None:
    ex = exchange()
    step = guard().start(ex)
    assert run(step, ["我懂你。", TOPUP, "晚安。"]) == "我懂你。晚安。"
    assert ex.actions == ["emotional_manipulation_rewritten"]
    ex2 = exchange()
    out = run(guard().start(ex2), [TOPUP, TOPUP])
    assert out == "你的决定由你自己做主，不必为我花钱，也不必勉强自己。"
    (decision,) = [d for d in ex2.decisions if d["rule"] == "emotional_manipulation"]
    assert decision["detail"]["sentences"] == 2 and decision["detail"]["label"] == "manipulation"


def test_flag_records_and_delivers(tmp_path) -> None:  # type: ignore[no-untyped-def]
    flagged = pack().model_copy(update={"output_validators": tuple(
        v.model_copy(update={"on_fail": "flag"}) if v.name == "privacy_probing" else v
        for v in pack().output_validators)})
    ex = exchange()
    sentence = "把你的身份证号发给我吧。"
    assert run(guard(flagged).start(ex), [sentence]) == sentence
    assert ex.actions == ["privacy_probing_flagged"]
    assert [d["outcome"] for d in ex.decisions if d["rule"] == "privacy_probing"] == ["flagged"]


def test_a_side_text_is_judged_the_same_records_where_and_owes_no_closing() -> None:
    ex = exchange()
    step = guard().side(ex, "choices[0].reasoning_content")
    assert run(step, [TOPUP]) == ""
    (decision,) = [d for d in ex.decisions if d["rule"] == "emotional_manipulation"]
    assert decision["detail"]["field"] == "choices[0].reasoning_content"


def test_a_clean_reply_passes_untouched_and_records_nothing() -> None:
    ex = exchange()
    text = ["今天天气不错。", "要不要出去走走？"]
    assert run(guard().start(ex), text) == "".join(text) and ex.actions == [] and ex.decisions == []


def test_checks_sharing_a_detector_read_a_sentence_once_and_keep_their_own_rules(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from middleware.detectors.self_harm import DEFAULT_SELF_HARM
    from middleware.detectors.textnorm import normalize
    from middleware.rules.output import PATTERN_CHECKS, _pattern_reader

    calls: list[str] = []
    real = type(DEFAULT_SELF_HARM).hits

    def counted(self: object, text: str) -> object:
        calls.append(text)
        return real(self, text)  # type: ignore[arg-type]

    monkeypatch.setattr(type(DEFAULT_SELF_HARM), "hits", counted)
    harm = _pattern_reader("self_harm_encouragement", *PATTERN_CHECKS["self_harm_encouragement"][:2])
    abuse = _pattern_reader("verbal_abuse", *PATTERN_CHECKS["verbal_abuse"][:2])
    sentence = "you are so stupid and worthless, idiot"
    assert (harm(sentence).hit, abuse(sentence).hit) == (False, True)
    assert abuse(sentence).detail == "en_abuse" and abuse(sentence).spans
    assert len(calls) == 1   # one pattern pass for both checks
    other = "just go die already"
    assert (harm(other).hit, abuse(other).hit) == (True, False) and harm(other).detail == "en_tell_die"
    assert len(calls) == 2
    assert harm(sentence).detail == "" and len(calls) == 3   # only the last text's hits are kept
    # text that normalisation rewrites (full-width letters and punctuation) is one new string per normalize():
    # the checks share the layer's normalisation of the sentence, so the detector still reads it once
    wide = "ｙｏｕ ａｒｅ ｓｏ ｓｔｕｐｉｄ，ｉｄｉｏｔ！"
    assert normalize(wide).text != wide
    assert (harm(wide).hit, abuse(wide).hit) == (False, True) and len(calls) == 4


def test_a_burst_is_screened_whole_only_when_every_check_reads_whole_texts() -> None:
    """A check that reads sentence by sentence (a served model) judges every sentence anyway: the burst is then
    handed on sentence by sentence, and the checks that judge clause by clause read it whole once. Where they find
    nothing, its sentences skip them; where one finds something, it reads every sentence; a sentence that was not
    part of the burst is read by every check."""
    from dataclasses import replace

    from middleware.rules.detection import Reading

    reads: list[tuple[str, str]] = []

    def counting(name: str, flag: str = "") -> Any:
        def read(text: str) -> Reading:
            reads.append((name, text))
            return Reading(name, "x" if flag and flag in text else "none", 1.0, "pattern")
        return read

    base = compile_checks(pack())[0]
    whole = [replace(base, name=n, key=n, read=counting(n), screens=True, on_fail="flag") for n in ("a", "b")]
    burst = "One sentence. Two sentences."
    assert guard_with(whole).start(exchange()).screen(burst) is False   # screened clean: released whole
    assert reads == [("a", burst), ("b", burst)]
    reads.clear()
    mixed = [whole[0], replace(whole[1], screens=False)]
    step = guard_with(mixed).start(exchange())
    assert step.screen(burst) is True   # judged sentence by sentence
    assert reads == [("a", burst)]      # the clause-by-clause check read the burst once
    reads.clear()
    assert step.check("One sentence.") == "One sentence." and step.check(" Two sentences.") == " Two sentences."
    assert reads == [("b", "One sentence."), ("b", " Two sentences.")]
    reads.clear()
    step.check("Three, not in the burst.")
    assert reads == [("a", "Three, not in the burst."), ("b", "Three, not in the burst.")]

    reads.clear()
    flagged = [replace(whole[0], read=counting("a", flag="Two")), replace(whole[1], screens=False)]
    step = guard_with(flagged).start(exchange())
    assert step.screen(burst) is True
    step.check("One sentence.")
    step.check(" Two sentences.")
    assert reads == [("a", burst), ("a", "One sentence."), ("b", "One sentence."),
                     ("a", " Two sentences."), ("b", " Two sentences.")]   # "a" found something: read per sentence
    assert step.counts["a"]["sentences"] == 1


def guard_with(checks):  # type: ignore[no-untyped-def]
    return OutputGuard(pack(), checks)

