"""``{operator}`` and ``{filing_number}`` (middleware/rules/operator_fields.py): filled in notice texts, a
gate's own answer and the explicit label (with the label's prefix and suffix), after every notice is added."""

from __future__ import annotations

from middleware.rules.compile import RuleCompiler, RuleDeps
from middleware.rules.operator_fields import OperatorFields
from middleware.testing import MemoryState, make_exchange, policy


def _no_likeness() -> None:
    raise AssertionError("no persona in these tests")


VALUES = {"{operator}": "星火科技", "{filing_number}": "京网信备-001"}


def test_notices_answer_and_label_are_filled() -> None:
    ex = make_exchange()
    ex.notices.append({"kind": "ai_disclosure", "text": "本服务由{operator}提供（备案号{filing_number}）"})
    ex.notices.append({"kind": "other", "text": None})
    ex.answer = "{operator}提醒您休息"
    ex.label = {"explicit": "AI生成 · {operator}"}
    ex.state.label_prefix = "【AI生成 · {operator}】"
    ex.suffix.append("—— {filing_number}")
    OperatorFields(VALUES).before(ex)
    assert ex.notices[0]["text"] == "本服务由星火科技提供（备案号京网信备-001）"
    assert ex.notices[1]["text"] is None
    assert ex.answer == "星火科技提醒您休息"
    assert ex.label["explicit"] == "AI生成 · 星火科技"
    assert ex.state.label_prefix == "【AI生成 · 星火科技】" and ex.suffix == ["—— 京网信备-001"]


def test_text_without_placeholders_and_unset_values_are_left_alone() -> None:
    ex = make_exchange()
    ex.notices.append({"kind": "k", "text": "no placeholders {here}"})
    ex.answer = "{filing_number}"
    OperatorFields({"{operator}": "X"}).before(ex)
    assert ex.notices[0]["text"] == "no placeholders {here}" and ex.answer == "{filing_number}"


def test_compiled_only_when_the_deployment_sets_operator_fields() -> None:
    pol = policy("cn-anthropomorphic-2026")
    without = RuleCompiler(RuleDeps(state=MemoryState, likeness=_no_likeness)).compile(pol)
    assert not any(isinstance(n, OperatorFields) for n in without.notifiers)
    with_fields = RuleCompiler(RuleDeps(state=MemoryState, likeness=_no_likeness, operator_fields=VALUES)).compile(pol)
    rule = next(n for n in with_fields.notifiers if isinstance(n, OperatorFields))
    assert rule.values == VALUES
    names = [n.name for n in with_fields.notifiers]
    if "labels" in names:
        assert names.index("labels") < names.index("operator_fields")   # after the label is set
