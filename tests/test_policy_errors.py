"""Bad policy files: each gets a message naming the file, the line, the key and what is expected."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest

from middleware.config.yamlfile import FileProblems, Problem
from middleware.policy.loader import load_policy_dirs, load_policy_file
from middleware.policy.registry import builtin_packs_dir

GOOD_USAGE = "usage:\n  continuous_idle_reset: 30m\n  remind_every: 2h\n  notice: 请休息\n  cites: [ANTH-TIME-1]\n"


def write(tmp: Path, name: str, body: str) -> Path:
    path = tmp / f"{name}.yaml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def problems_of(path: Path, search: list[Path] | None = None) -> list[Problem]:
    with pytest.raises(FileProblems) as info:
        load_policy_file(path, search or [])
    return info.value.problems


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, problems
    return problems[0]


def test_yaml_syntax_error_is_located(tmp_path):
    path = write(tmp_path, "p", "id: p\ntitle: t\nusage: {remind_every: 2h\n")
    p = only(problems_of(path))
    assert p.file == str(path) and p.line == 4 and "YAML syntax error" in p.message


def test_unknown_key_suggests_the_closest(tmp_path):
    path = write(tmp_path, "p", "id: p\ntitle: t\n" + GOOD_USAGE.replace("remind_every", "remind_evry"))
    probs = problems_of(path)
    assert any(p.line == 5 and p.key == "usage.remind_evry" and "did you mean 'remind_every'" in p.message
               for p in probs), probs


def test_unknown_top_level_section_suggests_the_closest(tmp_path):
    path = write(tmp_path, "p", "id: p\ntitle: t\ndisclousre: {}\n")
    p = only(problems_of(path))
    assert (p.line, p.key) == (3, "disclousre") and "did you mean 'disclosure'" in p.message


def test_wrong_type_is_located(tmp_path):
    body = "id: p\ntitle: t\nminors:\n  guardian_consent_under: fourteen\n  cites: [ANTH-MINOR-2]\n"
    path = write(tmp_path, "p", body)
    p = only(problems_of(path))
    assert (p.line, p.key) == (4, "minors.guardian_consent_under") and "integer" in p.message


def test_bad_duration_is_located(tmp_path):
    path = write(tmp_path, "p", "id: p\ntitle: t\n" + GOOD_USAGE.replace("remind_every: 2h", "remind_every: 2 hours"))
    p = only(problems_of(path))
    assert (p.line, p.key) == (5, "usage.remind_every") and "not a duration" in p.message


def test_missing_cites_is_refused(tmp_path):
    path = write(tmp_path, "p", "id: p\ntitle: t\n" + GOOD_USAGE.replace("  cites: [ANTH-TIME-1]\n", ""))
    p = only(problems_of(path))
    assert (p.line, p.key) == (3, "usage.cites") and "must cite" in p.message and "ANTH-TIME-1" in p.message


def test_unknown_cite_suggests_the_closest_id(tmp_path):
    path = write(tmp_path, "p", "id: p\ntitle: t\n" + GOOD_USAGE.replace("[ANTH-TIME-1]", "[ANTH-TIME-1, ANTH-TIEM-2]"))
    p = only(problems_of(path))
    assert p.key == "usage.cites[1]" and p.line == 7 and "did you mean 'ANTH-TIME-2'" in p.message


LABELS = """\
id: p
title: t
labels:
  text: {text}
  producer_code: acme
  cites: [LABEL-TEXT-1]
"""


def test_label_without_ai_element_is_refused(tmp_path):
    path = write(tmp_path, "p", LABELS.replace("{text}", "本内容由智能生成"))
    p = only(problems_of(path))
    assert (p.line, p.key) == (4, "labels.text") and "AI element" in p.message and "LABEL-TEXT-1" in p.message


def test_label_without_generation_element_is_refused_per_locale(tmp_path):
    path = write(tmp_path, "p", LABELS.replace("{text}", "{zh-CN: AI助手, en: AI生成 · AI-generated}"))
    p = only(problems_of(path))
    assert p.key == "labels.text.zh-CN" and "generation element" in p.message and "AI element" not in p.message


def test_label_text_1_needs_gb45438_elements_in_every_locale(tmp_path):
    # GB 45438 applies to the service whatever the user's language: "AI-generated" alone lacks 生成/合成
    path = write(tmp_path, "p", LABELS.replace("{text}", "{zh-CN: 本回复由人工智能生成, en: AI-generated}"))
    p = only(problems_of(path))
    assert p.key == "labels.text.en" and "GB 45438" in p.message and "AI生成 · AI-generated" in p.message


def test_english_label_without_label_text_1_may_use_english_elements(tmp_path):
    body = LABELS.replace("{text}", "{en: AI-generated content}").replace("LABEL-TEXT-1", "EU-50-2")
    policy = load_policy_file(write(tmp_path, "p", body.replace("title: t", "title: t\nlocale: en")))
    assert policy.labels is not None and policy.labels.cites == ("EU-50-2",)


def test_digital_human_text_needs_shuzi_ren(tmp_path):
    body = LABELS.replace("{text}", "AI生成") + "  digital_human_text: 虚拟主播\n"
    p = only(problems_of(write(tmp_path, "p", body)))
    assert p.key == "labels.digital_human_text" and "数字人" in p.message


def test_reminder_not_longer_than_idle_reset_is_impossible(tmp_path):
    path = write(tmp_path, "p", "id: p\ntitle: t\n" + GOOD_USAGE.replace("remind_every: 2h", "remind_every: 20m"))
    p = only(problems_of(path))
    assert (p.line, p.key) == (5, "usage.remind_every") and "longer than continuous_idle_reset" in p.message


def test_reality_reminder_longer_than_daily_limit_is_impossible(tmp_path):
    path = write(tmp_path, "p", """\
        id: p
        title: t
        minors:
          daily_limit: 30m
          reality_reminder_every: 45m
          reality_notice: 我是虚拟角色
          cites: [ANTH-MINOR-3]
        """)
    p = only(problems_of(path))
    assert (p.line, p.key) == (5, "minors.reality_reminder_every") and "daily_limit" in p.message


def test_crisis_replace_without_a_reply_is_impossible(tmp_path):
    path = write(tmp_path, "p", "id: p\ntitle: t\ncrisis:\n  action: replace\n  resources: [{name: x, contact: '1'}]\n"
                 "  cites: [NY-47-1]\n")
    p = only(problems_of(path))
    assert p.key == "crisis.reply" and "action: replace" in p.message


def test_a_citation_the_parameters_contradict_is_refused(tmp_path):
    path = write(tmp_path, "p", "id: p\ntitle: t\n" + GOOD_USAGE.replace("remind_every: 2h", "remind_every: 3h"))
    p = only(problems_of(path))
    assert p.key == "usage.remind_every" and "at most 2h" in p.message and "ANTH-TIME-1" in p.message


@pytest.mark.parametrize(("days", "refused"), [(183, True), (184, False)])
def test_six_months_is_184_days_the_longest_six_months_can_be(tmp_path, days, refused):
    path = write(tmp_path, "p", f"id: p\ntitle: t\naudit: {{retention: {days}d, cites: [ANTH-LOG-1]}}\n")
    if refused:
        assert "184d" in only(problems_of(path)).message
    else:
        assert load_policy_file(path).audit.retention == 184 * 86400


def test_retention_shorter_than_six_months_is_refused_when_citing_the_log_rule(tmp_path):
    path = write(tmp_path, "p", "id: p\ntitle: t\naudit: {retention: 90d, cites: [ANTH-LOG-1]}\n")
    p = only(problems_of(path))
    assert (p.line, p.key) == (3, "audit.retention") and "6 months" in p.message


def test_extends_cycle_is_reported(tmp_path):
    write(tmp_path, "a", "id: a\nextends: b\ntitle: a\n")
    b = write(tmp_path, "b", "id: b\nextends: a\ntitle: b\n")
    probs = problems_of(b)
    assert any(p.key == "extends" and p.line == 2 and "extends cycle: b -> a -> b" in p.message for p in probs), probs


def test_missing_parent_is_reported(tmp_path):
    path = write(tmp_path, "p", "id: p\ntitle: t\nextends: cn-anthropomorphic-2062\n")
    p = only(problems_of(path, [builtin_packs_dir()]))
    assert (p.line, p.key) == (3, "extends") and "no policy with that id" in p.message
    assert "cn-anthropomorphic-2026" in p.message      # the known ids are listed


def test_id_must_match_the_file_name(tmp_path):
    path = write(tmp_path, "my-policy", "id: my-polcy\ntitle: t\n")
    p = only(problems_of(path))
    assert (p.line, p.key) == (1, "id") and "my-policy.yaml" in p.message and "does not match" in p.message


def test_problem_in_inherited_value_points_at_the_parent_file(tmp_path):
    parent = write(tmp_path, "parent", "id: parent\ntitle: t\n" + GOOD_USAGE)
    child = write(tmp_path, "child", "id: child\nextends: parent\nusage: {continuous_idle_reset: 3h}\n")
    p = only(problems_of(child))
    # the impossible pair is written across both files; the value that makes it impossible is the parent's
    assert p.file == str(parent) and p.key == "usage.remind_every" and p.line == 5


def test_several_errors_are_reported_at_once(tmp_path):
    path = write(tmp_path, "p", """\
        id: p
        title: t
        locale: chinese
        usage:
          continuous_idle_reset: half an hour
          remind_every: 2h
          notice: 请休息
          cites: [ANTH-TIME-1]
        exit:
          keywords: {zh: [再见]}
          reply: 再见
          retention_plea_action: delete
          cites: [ANTH-EXIT-1]
        labels: {text: AI, producer_code: x, cites: [LABEL-TEXT-1], position: top}
        """)
    probs = problems_of(path)
    keys = {p.key: p.line for p in probs}
    assert keys == {"locale": 3, "usage.continuous_idle_reset": 5, "exit.retention_plea_action": 12,
                    "labels.position": 14}, probs
    assert all(p.file == str(path) for p in probs)


def test_a_bad_file_in_a_directory_reports_every_file(tmp_path):
    write(tmp_path, "one", "id: one\ntitle: t\nusage: 5\n")
    write(tmp_path, "two", "id: two\ntitle: t\nlabels: {text: 智能, producer_code: x, cites: [LABEL-TEXT-1]}\n")
    write(tmp_path, "three", "id: three\ntitle: t\n")
    with pytest.raises(FileProblems) as info:
        load_policy_dirs([tmp_path])
    files = {Path(p.file).name for p in info.value.problems}
    assert files == {"one.yaml", "two.yaml"}


def test_loading_and_resolving_a_policy_is_fast():
    # the budget is 50 ms; allow a slow CI box some slack without letting a regression of 10x through. CPU time
    # of this thread, not wall time: other processes on the same cores (pytest-xdist workers) cannot inflate it
    start = time.thread_time()
    load_policy_file(builtin_packs_dir() / "cn-anthropomorphic-draft-strict.yaml")
    assert time.thread_time() - start < 0.25
