"""Row codecs shared by each registry's SQLite and PostgreSQL stores (middleware/*/rows.py): what goes
in comes back out."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from middleware.alerts.models import Alert
from middleware.alerts.rows import alert_from_body, seconds, us
from middleware.likeness.models import to_us
from middleware.likeness.rows import consent_from_row, kinds_text, persona_from_row
from middleware.profiles.models import UserProfile
from middleware.profiles.rows import profile_from_row, profile_values


def test_a_profile_round_trips_through_its_columns() -> None:
    profile = UserProfile(age_band="minor", guardian_consent=True, guardian_contact="mum@example.com",
                          blocked_personas=["a", "b"], updated_at=datetime(2026, 1, 1, tzinfo=UTC))
    back = profile_from_row((*profile_values(profile), 3))
    assert back.model_dump(exclude={"version"}) == profile.model_dump(exclude={"version"}) and back.version == 3


def test_alert_times_are_microseconds_and_bodies_parse() -> None:
    assert seconds(us(1.5)) == 1.5 and seconds(None) is None
    alert = Alert(kind="crisis", app_id="a", policy_id="p", event_id="e")
    assert alert_from_body(orjson.dumps({**alert.model_dump(mode="json"), "object": "alert"})) == alert


def test_personas_and_consents_are_read_from_their_rows() -> None:
    now = to_us(datetime(2026, 1, 1, tzinfo=UTC))
    persona = persona_from_row(("lin", "Lin", "relative", "li", kinds_text(["face", "voice"]), 1, now, now, 0, None))
    assert persona.likeness is not None and persona.likeness.kinds == ["face", "voice"] and persona.enabled
    consent = consent_from_row(("c1", "li", "subject", "face", "memorial", now, None, "a" * 64, now, None, "admin",
                                None, None, None))
    assert consent.scopes == ["face"] and consent.revoked_at is None
