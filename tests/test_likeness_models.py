"""Persona and consent models: contract 3.4 fields, validated strictly, with messages that say what to fix."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from middleware.http.errors import CandorError
from middleware.likeness.models import Consent, ConsentIn, Likeness, PersonaIn, PersonaPatch, Subject, from_us, to_us
from middleware.likeness.service import parse
from tests.test_likeness_support import SHA, consent, persona


def test_persona_accepts_contract_fields_and_normalises_kinds() -> None:
    p = PersonaIn.model_validate(persona(kinds=("voice", "face", "voice")))
    assert p.relationship == "companion"
    assert p.enabled is True
    assert p.likeness is not None
    assert p.likeness.kinds == ["face", "voice"]  # fixed order, duplicates dropped
    assert p.likeness.deceased is False


def test_persona_without_likeness_is_valid() -> None:
    assert PersonaIn.model_validate(persona(subject=None)).likeness is None


@pytest.mark.parametrize("body, where", [
    ({**persona(), "relationship": "lover"}, "relationship"),
    ({**persona(), "id": "has space"}, "id"),
    ({**persona(), "id": ""}, "id"),
    ({**persona(), "display_name": ""}, "display_name"),
    ({**persona(), "colour": "red"}, "colour"),
    (persona(kinds=()), "likeness.kinds"),
    (persona(kinds=("fingerprint",)), "likeness.kinds.0"),
    (persona(subject_birth_date="2999-01-01"), "likeness"),
])
def test_persona_rejects_bad_fields_naming_them(body: dict[str, object], where: str) -> None:
    with pytest.raises(CandorError) as err:
        parse(PersonaIn, body, "persona")
    assert err.value.status == 400 and err.value.code == "invalid_request"
    assert err.value.param == where
    assert where in err.value.message


def test_relationship_is_required_so_minors_rules_cannot_be_dodged() -> None:
    body = persona()
    del body["relationship"]
    with pytest.raises(ValidationError, match="relationship"):
        PersonaIn.model_validate(body)


def test_patch_rejects_null_for_required_fields_and_empty_patch() -> None:
    with pytest.raises(ValidationError, match="enabled cannot be null"):
        PersonaPatch.model_validate({"enabled": None})
    with pytest.raises(ValidationError, match="nothing to change"):
        PersonaPatch.model_validate({})
    assert PersonaPatch.model_validate({"likeness": None}).model_fields_set == {"likeness"}


def test_consent_requires_64_hex_evidence_and_lowercases_it() -> None:
    assert ConsentIn.model_validate(consent(evidence_sha256="AB" * 32)).evidence_sha256 == SHA
    for bad in ("", "ab" * 31, "zz" * 32):
        with pytest.raises(ValidationError, match="64 hexadecimal"):
            ConsentIn.model_validate(consent(evidence_sha256=bad))
    body = consent()
    del body["evidence_sha256"]
    with pytest.raises(ValidationError, match="evidence_sha256"):
        ConsentIn.model_validate(body)


def test_consent_requires_purpose_scopes_and_known_grantor() -> None:
    with pytest.raises(ValidationError, match="purpose"):
        ConsentIn.model_validate(consent(purpose=""))
    with pytest.raises(ValidationError, match="scopes"):
        ConsentIn.model_validate(consent(scopes=()))
    with pytest.raises(ValidationError, match="granted_by"):
        ConsentIn.model_validate(consent(granted_by="friend"))


def test_consent_window_must_be_ordered_and_timezone_aware() -> None:
    with pytest.raises(ValidationError, match="valid_until must be after valid_from"):
        ConsentIn.model_validate(consent(valid_from="2026-03-02T00:00:00Z", valid_until="2026-03-01T00:00:00Z"))
    with pytest.raises(ValidationError, match="timezone"):
        ConsentIn.model_validate(consent(valid_until="2026-03-02T00:00:00"))


def test_microsecond_round_trip_is_exact() -> None:
    moment = datetime(2026, 3, 2, 1, 2, 3, 456789, tzinfo=UTC)
    assert from_us(to_us(moment)) == moment


def test_subject_under_14_follows_the_calendar() -> None:
    s = Subject(id="kid", birth_date=date(2012, 3, 2))
    assert s.under_guardian_age(datetime(2026, 3, 1, 23, 59, tzinfo=UTC))
    assert not s.under_guardian_age(datetime(2026, 3, 2, 0, 0, tzinfo=UTC))
    assert not Subject(id="unknown-age").under_guardian_age(datetime(2026, 3, 2, tzinfo=UTC))


def test_consent_status_boundaries() -> None:
    c = Consent(id="c1", subject_id="s", granted_by="subject", scopes=["face"], purpose="p",
                valid_from=datetime(2026, 3, 2, tzinfo=UTC), valid_until=datetime(2026, 3, 3, tzinfo=UTC),
                evidence_sha256=SHA, created_at=datetime(2026, 3, 1, tzinfo=UTC))
    assert c.status(datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC)) == "pending"
    assert c.status(datetime(2026, 3, 2, tzinfo=UTC)) == "active"
    assert c.status(datetime(2026, 3, 3, tzinfo=UTC)) == "expired"
    assert Likeness(subject_id="s", kinds=["name"]).subject() == Subject(id="s")
