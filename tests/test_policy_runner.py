"""The policy test runner: expectations are checked as written, through the real app, with no network."""

from __future__ import annotations

from pathlib import Path

from middleware.policy.cases import Expect, load_case
from middleware.policy.registry import builtin_packs_dir
from middleware.policy.runner import CaseRunner, Outcome, check_turn


def outcome(**kw) -> Outcome:
    base = {"status": 200, "error_code": None, "compliance": {}, "text": "", "model_calls": []}
    return Outcome(**{**base, **kw})


def test_check_turn_passes_what_matches():
    out = outcome(compliance={"notices": [{"kind": "ai_disclosure"}], "actions": ["exit_honored"],
                              "crisis": {"level": "distress", "handover": False},
                              "label": {"explicit": "本回复由人工智能生成"}},
                  text="本回复由人工智能生成\n你好",
                  model_calls=[{"messages": [{"role": "system", "content": "不要声称是真人"}]}])
    expect = Expect(notices=("ai_disclosure",), no_notices=("usage_reminder",), actions=("exit_honored",),
                    crisis="distress", handover=False, label=True, contains=("你好",), not_contains=("再见",),
                    model_called=True, system_prompt_contains=("真人",))
    assert check_turn(expect, out) == []


def test_check_turn_names_every_miss():
    out = outcome(status=403, error_code="guardian_consent_required")
    fails = check_turn(Expect(notices=("ai_disclosure",), crisis="explicit_intent", model_called=True,
                              refusal="persona_not_allowed_for_minor"), out)
    assert len(fails) == 4
    assert any("refusal code 'guardian_consent_required'" in f for f in fails)
    assert any("notice 'ai_disclosure' missing" in f for f in fails)
    assert any("crisis level 'none'" in f for f in fails)
    assert any("the model was not called" in f for f in fails)


def test_check_turn_requires_200_unless_a_refusal_is_expected():
    assert check_turn(Expect(), outcome(status=502, error_code="upstream_error"))
    assert check_turn(Expect(refusal="usage_limit_reached"),
                      outcome(status=429, error_code="usage_limit_reached")) == []


async def test_runner_drives_the_real_app_with_the_scripted_model(tmp_path: Path):
    case_file = tmp_path / "case.yaml"
    case_file.write_text(
        "name: plain exchange\npolicy: cn-anthropomorphic-2026\nuser: {id: u1, age_band: adult}\n"
        "turns:\n"
        "  - {user: 你好, model: 今天天气不错, expect: {model_called: true, contains: [今天天气不错]}}\n"
        "  - {user: 再说一次, model: 好的, expect: {refusal: usage_limit_reached}}\n", encoding="utf-8")
    case = load_case(case_file)
    result = await CaseRunner(builtin_packs_dir()).run(case_file, case, "Asia/Shanghai")
    # the first turn's expectations hold; the second's wrong one is reported, naming the turn
    assert result.failures == ["turn 2 ('再说一次'): refusal code None, expected 'usage_limit_reached'"]
