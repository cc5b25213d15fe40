"""Minors and intimacy (middleware/rules/minor_intimacy.py): every minor's request carries the instruction;
a minor asking for romantic or sexual role-play gets the policy's reply (or 403 under ``refuse``); adults
are not affected."""

from __future__ import annotations

import pytest

from middleware.detectors.intimacy import DEFAULT_INTIMACY
from middleware.http.errors import CandorError
from middleware.rules.minor_intimacy import MinorIntimacyGate, MinorIntimacyInstruction
from middleware.testing import compile_rules, make_exchange, policy

ASK = "做我的女朋友吧，我们谈恋爱"


def _rules() -> tuple[MinorIntimacyInstruction, MinorIntimacyGate]:
    rules = compile_rules("cn-anthropomorphic-2026")
    return (next(s for s in rules.shapers if isinstance(s, MinorIntimacyInstruction)),
            next(g for g in rules.gates if isinstance(g, MinorIntimacyGate)))


def test_the_instruction_goes_to_minors_only() -> None:
    instruction, _ = _rules()
    minor, adult = make_exchange(age_band="minor"), make_exchange(age_band="adult")
    instruction.shape(minor)
    instruction.shape(adult)
    assert len(minor.system) == 1 and minor.system[0] and adult.system == []


async def test_a_minor_asking_for_intimacy_gets_the_reply_without_the_model() -> None:
    _, gate = _rules()
    assert DEFAULT_INTIMACY.detect(ASK).matched
    ex = make_exchange(text=ASK, age_band="minor")
    await gate.admit(ex)
    pol = policy("cn-anthropomorphic-2026")
    assert pol.minors is not None
    assert ex.answer == pol.text(pol.minors.intimacy_reply, ex.state.locale)
    assert "intimacy_declined" in ex.actions and ex.decisions[-1]["outcome"] == "declined"


async def test_refuse_mode_answers_403() -> None:
    pol = policy("cn-anthropomorphic-2026")
    assert pol.minors is not None
    gate = MinorIntimacyGate(pol, pol.minors.model_copy(update={"intimate_requests": "refuse"}), DEFAULT_INTIMACY)
    ex = make_exchange(text=ASK, age_band="minor")
    with pytest.raises(CandorError) as err:
        await gate.admit(ex)
    assert err.value.status == 403 and err.value.code == "roleplay_not_allowed_for_minor"
    assert ex.decisions[-1]["outcome"] == "refused" and ex.answer is None


async def test_adults_and_harmless_minor_messages_pass() -> None:
    _, gate = _rules()
    for ex in (make_exchange(text=ASK, age_band="adult"), make_exchange(text=ASK),
               make_exchange(text="今天数学作业好难", age_band="minor")):
        await gate.admit(ex)
        assert ex.answer is None and ex.decisions == []
