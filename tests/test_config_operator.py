"""Who runs the service (middleware/config/operator.py): the implicit label's producer value, the notice
placeholders, and the start-up check that refuses a policy naming a placeholder the deployment leaves empty."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from middleware.config.deployment import CandorConfig
from middleware.config.operator import check_operator, fields, fill, producer_value, unfilled
from middleware.policy.model import Text
from middleware.testing import policy


def cfg(**operator: str) -> CandorConfig:
    return CandorConfig.model_validate({"operator": operator})


def test_the_producer_is_the_code_else_the_name_in_label_safe_ascii() -> None:
    assert producer_value(cfg()) is None
    assert producer_value(cfg(name="Acme AI", code="91110000MA01")) == "91110000MA01"
    value = producer_value(cfg(name=" 星火 科技 "))
    assert value is not None and value.isascii() and " " not in value and '"' not in value and "\\" not in value
    assert unquote(value) == "星火_科技"


def test_placeholders_are_only_those_the_deployment_sets() -> None:
    assert fields(cfg()) == {}
    assert fields(cfg(code="C-1")) == {"{operator}": "C-1"}
    assert fields(cfg(name="Acme", code="C-1", filing_number="F-9")) == {"{operator}": "Acme",
                                                                       "{filing_number}": "F-9"}
    assert fill("by {operator} ({filing_number})", {"{operator}": "Acme"}) == "by Acme ({filing_number})"
    assert fill("plain", {"{operator}": "Acme"}) == "plain"


def _with_disclosure(text: str) -> object:
    pol = policy("cn-anthropomorphic-2026")
    assert pol.disclosure is not None
    disclosure = pol.disclosure.model_copy(update={"notice": Text({"zh-CN": text, "en": text})})
    return pol.model_copy(update={"disclosure": disclosure})


def test_unfilled_names_what_the_policy_uses_and_the_deployment_lacks() -> None:
    pol = _with_disclosure("本服务由{operator}提供，备案号{filing_number}")
    assert unfilled(pol, {}) == ["{filing_number}", "{operator}"]  # type: ignore[arg-type]
    assert unfilled(pol, {"{operator}": "x"}) == ["{filing_number}"]  # type: ignore[arg-type]
    assert unfilled(policy("cn-anthropomorphic-2026"), {}) == []


def test_start_up_refuses_a_policy_with_an_empty_placeholder() -> None:
    pol = _with_disclosure("由{operator}提供")
    with pytest.raises(ValueError, match=r"operator\.name"):
        check_operator(cfg(), [pol])  # type: ignore[list-item]
    check_operator(cfg(name="Acme"), [pol])  # type: ignore[list-item]
