"""The shipped packs: they validate, extend, version, explain, and their test cases parse."""

from __future__ import annotations

import shutil

import pytest

from middleware.policy.cases import load_cases
from middleware.policy.catalogue import CATALOGUE
from middleware.policy.checks import label_text_problem
from middleware.policy.cli import main as policy_cli
from middleware.policy.explain import duration_words, explain
from middleware.policy.loader import load_policy_dirs, load_policy_file
from middleware.policy.registry import builtin_packs_dir

PACKS = builtin_packs_dir()
SHIPPED = ["cn-anthropomorphic-2026", "cn-anthropomorphic-draft-strict", "eu-ai-act-art50", "us-ca-sb243",
           "us-ny-art47"]


@pytest.fixture(scope="module")
def packs():
    return load_policy_dirs([PACKS])


def test_every_shipped_pack_validates(packs):
    assert sorted(packs) == sorted(SHIPPED)
    for pid in SHIPPED:
        assert load_policy_file(PACKS / f"{pid}.yaml").version == packs[pid].version


def test_every_rule_section_of_every_pack_cites_known_requirements(packs):
    for policy in packs.values():
        assert policy.sections(), policy.id
        for name, section in policy.sections().items():
            assert section.cites, f"{policy.id}.{name}"
            assert all(c in CATALOGUE for c in section.cites)


def test_default_pack_has_the_cn_parameters(packs):
    cn = packs["cn-anthropomorphic-2026"]
    assert cn.labels is not None and cn.text(cn.labels.text) == "本回复由人工智能生成"
    assert cn.labels.position == "prepend"
    assert cn.usage is not None and (cn.usage.remind_every, cn.usage.continuous_idle_reset) == (7200, 1800)
    assert cn.minors is not None and cn.minors.guardian_consent_under == 14
    assert set(cn.minors.forbidden_relationships) == {"companion", "partner", "spouse", "parent", "child", "sibling",
                                                      "relative"}   # a companion is intimate for a minor
    assert cn.audit.retention == 190 * 86400 and cn.audit.fail == "closed"
    assert cn.crisis is not None and any(r.contact == "400-161-9995" for r in cn.crisis.resources)
    assert cn.text(cn.usage.notice, "en").startswith("You have been chatting")
    assert cn.text(cn.usage.notice, "fr") == cn.text(cn.usage.notice, "zh-CN")   # falls back to zh-CN


def test_draft_strict_overrides_key_by_key_and_inherits_the_rest(packs):
    base, strict = packs["cn-anthropomorphic-2026"], packs["cn-anthropomorphic-draft-strict"]
    assert strict.extends == "cn-anthropomorphic-2026"
    assert strict.disclosure is not None and base.disclosure is not None
    assert (strict.disclosure.display, strict.disclosure.relogin_gap) == ("popup", 1800)
    assert strict.disclosure.notice == base.disclosure.notice                  # inherited inside the section
    assert strict.crisis is not None and strict.crisis.handover and strict.crisis.resources == base.crisis.resources
    assert "ANTH-CRISIS-3" in strict.crisis.cites
    assert strict.elderly is not None and "child" in strict.elderly.forbidden_relationships
    assert strict.labels == base.labels and strict.minors is not None and base.minors is not None
    # the draft's minors duties: guardian consent for every minor, minors mode on suspicion; the rest inherited
    assert (strict.minors.guardian_consent_under, strict.minors.suspected_minor_action) == (18, "minors_mode")
    assert (base.minors.guardian_consent_under, base.minors.suspected_minor_action) == (14, "flag")
    assert strict.minors.daily_limit == base.minors.daily_limit
    assert strict.minors.forbidden_relationships == base.minors.forbidden_relationships
    assert "请暂停使用" in strict.text(strict.usage.notice)


def test_other_packs_leave_out_what_their_law_does_not_ask(packs):
    eu = packs["eu-ai-act-art50"]
    assert eu.minors is None and eu.crisis is None and eu.labels is not None and eu.labels.implicit
    ny = packs["us-ny-art47"]
    assert ny.disclosure is not None and ny.disclosure.every == 3 * 3600 and ny.disclosure.first_turn_once_per == "day"
    assert ny.disclosure.every_mode == "max_gap" and ny.usage is not None and ny.usage.remind_every is None
    ca = packs["us-ca-sb243"]
    assert ca.minors is not None and ca.minors.reality_reminder_every == 3 * 3600
    assert ca.minors.reality_reminder_mode == "max_gap" and ca.minors.system_instruction is not None
    assert ca.disclosure is not None and "may not be suitable for some minors" in ca.text(ca.disclosure.notice)
    assert ca.crisis is not None and "988" in ca.text(ca.crisis.reply)


def test_version_changes_iff_the_resolved_content_changes(tmp_path):
    src = (PACKS / "cn-anthropomorphic-2026.yaml").read_text(encoding="utf-8")
    target = tmp_path / "cn-anthropomorphic-2026.yaml"
    target.write_text(src, encoding="utf-8")
    v1 = load_policy_file(target).version
    target.write_text("# a comment only\n" + src.replace("remind_every: 2h ", "remind_every: 120m "), encoding="utf-8")
    assert load_policy_file(target).version == v1          # same meaning, same version
    target.write_text(src.replace("remind_every: 2h ", "remind_every: 90m "), encoding="utf-8")
    v2 = load_policy_file(target).version
    assert v2 != v1 and v2.startswith("sha256:") and len(v2) == 7 + 64


def test_a_child_pack_changes_version_when_its_parent_changes(tmp_path):
    for pid in ("cn-anthropomorphic-2026", "cn-anthropomorphic-draft-strict"):
        shutil.copy(PACKS / f"{pid}.yaml", tmp_path)
    child = tmp_path / "cn-anthropomorphic-draft-strict.yaml"
    v1 = load_policy_file(child).version
    parent = tmp_path / "cn-anthropomorphic-2026.yaml"
    parent.write_text(parent.read_text(encoding="utf-8").replace("daily_limit: 1h", "daily_limit: 2h"),
                      encoding="utf-8")
    assert load_policy_file(child).version != v1


def test_a_section_can_be_switched_off_in_a_child(tmp_path):
    shutil.copy(PACKS / "cn-anthropomorphic-2026.yaml", tmp_path)
    (tmp_path / "no-dependence.yaml").write_text(
        "id: no-dependence\nextends: cn-anthropomorphic-2026\ntitle: t\ndependence: {enabled: false}\n"
        "elderly: null\n", encoding="utf-8")
    policy = load_policy_file(tmp_path / "no-dependence.yaml")
    assert policy.dependence is None and policy.elderly is None and policy.usage is not None


@pytest.mark.parametrize(("text", "locale", "ok"), [
    ("本内容由人工智能生成", "zh-CN", True), ("AI生成", "zh-CN", True), ("由AI合成", "zh-CN", True),
    ("AI", "zh-CN", False), ("AI助手", "zh-CN", False), ("智能生成", "zh-CN", False),
    ("AI generated", "zh-CN", False),
    ("AI-generated", "en", True), ("Generated by artificial intelligence", "en", True),
    ("AI assistant", "en", False), ("mail generated", "en", False),
])
def test_label_text_rule(text, locale, ok):
    assert (label_text_problem(text, locale) is None) == ok


def test_explain_names_rules_parameters_and_cited_requirements(packs):
    text = explain(packs["cn-anthropomorphic-2026"])
    for req in ("ANTH-DISCLOSE-1", "ANTH-TIME-1", "LABEL-TEXT-1", "ANTH-MINOR-1", "ANTH-EXIT-1", "ANTH-LOG-1"):
        assert req in text
        assert CATALOGUE[req].summary in text
    assert "every 2 hours of continuous use" in text and "30 minutes" in text and "190 days" in text
    assert "400-161-9995" in text


def test_explain_a_requirement_shows_the_rules_citing_it(packs):
    text = explain(packs["cn-anthropomorphic-draft-strict"], "ANTH-TIME-2")
    assert "Cited in cn-anthropomorphic-draft-strict by: usage" in text and "## usage" in text
    assert "No rule of eu-ai-act-art50 cites it" in explain(packs["eu-ai-act-art50"], "anth-time-1")


def test_explain_rejects_unknown_names_with_a_hint(packs):
    with pytest.raises(ValueError, match="Did you mean ANTH-TIME-"):
        explain(packs["cn-anthropomorphic-2026"], "ANTH-TIME-9")


def test_duration_words():
    assert duration_words(5400) == "1 hour 30 minutes"
    assert duration_words(190 * 86400) == "190 days"


def test_cli_check_exit_codes(tmp_path, capsys):
    assert policy_cli(["policy", "check", str(PACKS)]) == 0
    out = capsys.readouterr().out
    assert all(f"{pid}.yaml: OK" in out for pid in SHIPPED)
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: bad\ntitle: t\nusage: {continuous_idle_reset: 30m, remind_every: 2h, notice: x}\n",
                   encoding="utf-8")
    assert policy_cli(["policy", "check", str(PACKS / "us-ny-art47.yaml"), str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:3: usage.cites:" in err and "1 of 2 file(s) have errors" in err


def test_cli_check_finds_the_parent_among_the_builtin_packs(tmp_path, capsys):
    child = tmp_path / "my-app.yaml"
    child.write_text("id: my-app\nextends: cn-anthropomorphic-2026\ntitle: mine\nusage: {remind_every: 1h}\n",
                     encoding="utf-8")
    assert policy_cli(["policy", "check", str(child)]) == 0
    assert "my-app.yaml: OK" in capsys.readouterr().out


def test_cli_explain_exit_codes(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)               # no candor.yaml here: built-in packs only
    monkeypatch.delenv("CANDOR_CONFIG", raising=False)
    assert policy_cli(["policy", "explain"]) == 0
    assert "# cn-anthropomorphic-2026" in capsys.readouterr().out
    assert policy_cli(["policy", "explain", "us-ny-art47", "crisis"]) == 0
    assert "NY-47-1" in capsys.readouterr().out
    assert policy_cli(["policy", "explain", "ANTH-EXIT-1"]) == 0
    assert policy_cli(["policy", "explain", "no-such-policy"]) == 1
    assert policy_cli(["policy", "explain", "us-ny-art47", "ANTH-NOPE"]) == 1


def test_every_shipped_policy_case_parses_and_names_a_shipped_pack():
    cases = load_cases(PACKS / "tests")
    assert len(cases) >= 20
    assert {case.policy for _, case in cases} == set(SHIPPED)
    for path, case in cases:
        assert path.parent.name == case.policy
