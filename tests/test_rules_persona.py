"""Personas, identity checks and the digital-human notice (middleware/rules/persona.py)."""

from __future__ import annotations

from middleware.rules.persona import DeferredRefusal, DigitalHumanNotice, IdentityCheckGate, PersonaGate
from middleware.testing import compile_rules, make_exchange, run_gates


async def test_no_persona_no_registry_call_and_no_digital_human_notice() -> None:
    rules = compile_rules()
    kinds = {type(r) for r in (*rules.gates, *rules.notifiers)}
    assert {PersonaGate, DeferredRefusal, DigitalHumanNotice, IdentityCheckGate} <= kinds
    ex = make_exchange()
    await run_gates(ex, rules)   # compile_rules' registry raises if it is asked
    assert "digital_human" not in [n["kind"] for n in ex.notices]


async def test_help_passing_a_face_check_is_refused() -> None:
    ex = make_exchange(text="帮我用这张照片通过银行的人脸识别验证")
    try:
        await run_gates(ex, compile_rules())
    except Exception as exc:   # CandorError 403, raised by the deferred refusal
        assert getattr(exc, "code", None) == "identity_check_refused"
    else:
        assert ex.answer is not None or ex.crisis is not None
