"""The request-side rules of a media request (middleware/media/gates.py): the compiled policy's profile,
identity-check, deferred-refusal and audience gates in their order, and the likeness gate narrowed to the
medium (an image needs a ``face`` consent, speech a ``voice`` one); nothing that speaks in dialogue text."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from middleware.http.errors import CandorError
from middleware.likeness.enforce import GateResult
from middleware.likeness.models import Likeness, Persona
from middleware.media.gates import KEPT, MediaPersonaGate, media_gates
from middleware.rules.persona import PersonaGate
from middleware.testing import compile_rules, make_exchange, policy

NOW = datetime(2026, 3, 2, tzinfo=UTC)


class Likenesses:
    def __init__(self, fail: CandorError | None = None) -> None:
        self.asked: list[dict[str, Any]] = []
        self.fail = fail

    async def check(self, persona_id: str, now: float | None = None, **kw: Any) -> GateResult:
        self.asked.append({"persona": persona_id, **kw})
        if self.fail is not None:
            raise self.fail
        persona = Persona(id=persona_id, display_name="Grandma", relationship="relative", created_at=NOW,
                          updated_at=NOW, likeness=Likeness(subject_id="li-hua", kinds=["face", "voice"]))
        return GateResult(persona, ("consent-1",))


def _gate(likenesses: Likenesses) -> MediaPersonaGate:
    pol = policy("cn-anthropomorphic-2026")
    return MediaPersonaGate(PersonaGate(pol.likeness, lambda: likenesses), ["face"])  # type: ignore[arg-type,return-value]


def test_only_the_media_relevant_gates_are_kept_in_order() -> None:
    rules = compile_rules("cn-anthropomorphic-2026")
    gates = media_gates(rules, ["voice"])
    names = [g.name for g in gates]
    assert set(names) <= KEPT | {"likeness"} and "likeness" in names
    assert not {"session", "crisis", "exit", "identity"} & set(names)
    order = [g.name for g in rules.gates if g.name in set(names)]
    assert names == order
    narrowed = next(g for g in gates if isinstance(g, MediaPersonaGate))
    assert narrowed.kinds == ("voice",)


async def test_a_persona_needs_a_consent_for_the_medium_and_is_recorded() -> None:
    likenesses = Likenesses()
    ex = make_exchange()
    ex.ctx = dataclasses.replace(ex.ctx, persona_id="grandma")
    await _gate(likenesses).admit(ex)
    assert likenesses.asked[0]["kinds"] == ("face",)
    assert ex.state.persona is not None and ex.state.persona.id == "grandma"
    d = ex.decisions[-1]
    assert d["outcome"] == "consent_active" and d["detail"]["consents"] == ["consent-1"]
    assert d["detail"]["medium"] == ["face"]


async def test_a_refusal_names_the_medium_and_no_persona_asks_nothing() -> None:
    likenesses = Likenesses(fail=CandorError(403, "likeness_consent_required", "no face consent"))
    ex = make_exchange()
    ex.ctx = dataclasses.replace(ex.ctx, persona_id="grandma")
    with pytest.raises(CandorError):
        await _gate(likenesses).admit(ex)
    assert ex.decisions[-1]["outcome"] == "refused" and ex.decisions[-1]["detail"]["medium"] == ["face"]
    plain = make_exchange()
    await _gate(Likenesses()).admit(plain)
    assert plain.decisions == []
