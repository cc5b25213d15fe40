"""The profile model: contract fields, validation, PUT/PATCH semantics and the effective age band."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from middleware.profiles.models import (
    ProfileIn,
    ProfilePatch,
    UserProfile,
    apply_patch,
    apply_put,
    check_user_id,
    resolve_age_band,
)


def test_defaults_are_the_contract_fields_with_safe_values() -> None:
    p = UserProfile()
    assert p.model_dump(include={"age_band", "guardian_consent", "guardian_contact", "emergency_contact",
                                 "blocked_personas", "unlabeled_allowed"}) == {
        "age_band": None, "guardian_consent": False, "guardian_contact": None, "emergency_contact": None,
        "blocked_personas": [], "unlabeled_allowed": False}
    assert not p.minors_mode and not p.minors_mode_override and not p.is_minor


@pytest.mark.parametrize("band", ["child", "Adult", "", "teen"])
def test_unknown_age_band_is_refused(band: str) -> None:
    with pytest.raises(ValidationError):
        ProfileIn.model_validate({"age_band": band})


def test_input_booleans_are_strict_and_unknown_fields_refused() -> None:
    with pytest.raises(ValidationError):
        ProfileIn.model_validate({"guardian_consent": "yes"})
    with pytest.raises(ValidationError):
        ProfileIn.model_validate({"unlabeled_allowed": 1})
    with pytest.raises(ValidationError, match="extra"):
        ProfileIn.model_validate({"age": "adult"})


def test_contacts_are_trimmed_and_bounded() -> None:
    assert ProfileIn(guardian_contact="  +86 138 0000 0000 ").guardian_contact == "+86 138 0000 0000"
    for bad in ("", "   ", "a\nb", "x" * 321):
        with pytest.raises(ValidationError):
            ProfileIn(guardian_contact=bad)


def test_blocked_personas_are_a_sorted_set_of_persona_ids() -> None:
    assert ProfileIn(blocked_personas=["b", "a", "b"]).blocked_personas == ["a", "b"]
    with pytest.raises(ValidationError, match="persona id"):
        ProfileIn(blocked_personas=["has space"])
    with pytest.raises(ValidationError, match="persona id"):
        ProfileIn(blocked_personas=["a,b"])  # the stores keep the list comma-joined


def test_user_ids_are_bounded_and_printable() -> None:
    assert check_user_id("alice@example.com") == "alice@example.com"
    for bad in ("", "x" * 257, "a\tb"):
        with pytest.raises(ValueError):
            check_user_id(bad)


def test_put_resets_contract_fields_but_keeps_minors_flags() -> None:
    old = UserProfile(age_band="minor", guardian_contact="mum", minors_mode=True, minors_mode_override=True)
    values = apply_put(old, ProfileIn(age_band="adult"))
    assert values["age_band"] == "adult" and values["guardian_contact"] is None
    assert values["minors_mode"] is True and values["minors_mode_override"] is True
    values = apply_put(old, ProfileIn(minors_mode_override=False))
    assert values["minors_mode_override"] is False


def test_patch_changes_only_given_fields_and_edits_the_block_list() -> None:
    old = UserProfile(age_band="elderly", emergency_contact="son", blocked_personas=["a", "b"])
    values = apply_patch(old, ProfilePatch(guardian_consent=True, block_personas=["c"], unblock_personas=["a"]))
    assert values["age_band"] == "elderly" and values["emergency_contact"] == "son"
    assert values["guardian_consent"] is True
    assert values["blocked_personas"] == ["b", "c"]
    assert apply_patch(old, ProfilePatch.model_validate({"emergency_contact": None}))["emergency_contact"] is None
    with pytest.raises(ValidationError, match="both blocked and unblocked"):
        ProfilePatch(block_personas=["x"], unblock_personas=["x"])


def test_minors_mode_and_its_override() -> None:
    suspected = UserProfile(age_band="adult", minors_mode=True)
    assert suspected.minors_mode_active and suspected.is_minor
    appealed = suspected.model_copy(update={"minors_mode_override": True})
    assert not appealed.minors_mode_active and not appealed.is_minor
    assert UserProfile(age_band="under14").is_minor


def test_resolve_age_band_profile_wins_over_header_unless_it_has_none() -> None:
    assert resolve_age_band(None, "elderly") == "elderly"
    assert resolve_age_band(UserProfile(age_band="minor"), "adult") == "minor"
    assert resolve_age_band(UserProfile(), "adult") == "adult"
    assert resolve_age_band(UserProfile(minors_mode=True), "adult") == "minor"
    assert resolve_age_band(UserProfile(minors_mode=True), None) == "minor"
    assert resolve_age_band(UserProfile(age_band="under14", minors_mode=True), None) == "under14"
    assert resolve_age_band(UserProfile(minors_mode=True, minors_mode_override=True), "adult") == "adult"
