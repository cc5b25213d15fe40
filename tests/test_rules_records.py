"""Audit events for registry changes (middleware/rules/records.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from middleware.profiles.service import ChangeRecord
from middleware.rules.records import profile_change_event


def test_a_profile_change_names_the_fields_not_the_contacts() -> None:
    change = ChangeRecord(action="update", actor="admin-api", at=datetime.now(UTC), user_id="u-1",
                          changed=("guardian_contact", "age_band"),
                          detail={"guardian_contact": "set", "age_band": "minor"})
    draft = profile_change_event(change)
    assert draft.kind == "profile_change" and draft.user_id == "u-1" and draft.fail_mode == "closed"
    detail = draft.decisions[0]["detail"]
    assert detail["changed"] == ["guardian_contact", "age_band"] and detail["guardian_contact"] == "set"
