"""Registry rules: who may consent, no edits (only revoke and replace), history, audit records."""

from __future__ import annotations

from typing import Any

import pytest

from middleware.http.errors import CandorError
from middleware.likeness.configsync import PersonaConfigError, sync_config_personas
from middleware.likeness.service import LikenessService
from tests.test_likeness_support import T0, Clock, Recorder, consent, persona

pytest_plugins = ["tests.test_likeness_support"]  # the shared store/service fixtures


async def refused(coro: Any, code: str = "invalid_request") -> CandorError:
    with pytest.raises(CandorError) as err:
        await coro
    assert err.value.code == code, err.value.message
    return err.value


# -- who may grant consent ---------------------------------------------------------------------------

async def test_adult_subject_consents_themselves(service: LikenessService) -> None:
    await service.add_persona(persona(), actor="t")
    c = await service.add_consent(consent(granted_by="subject"), actor="t")
    assert c.granted_by == "subject" and c.subject_id == "subj-lin"


async def test_guardian_for_an_adult_is_rejected(service: LikenessService) -> None:
    await service.add_persona(persona(subject_birth_date="1990-01-01"), actor="t")
    err = await refused(service.add_consent(consent(granted_by="guardian"), actor="t"))
    assert err.param == "granted_by"
    assert "only for a subject under 14" in err.message and "born 1990-01-01" in err.message


async def test_guardian_for_unknown_age_is_rejected_with_a_hint(service: LikenessService) -> None:
    await service.add_persona(persona(), actor="t")
    err = await refused(service.add_consent(consent(granted_by="guardian"), actor="t"))
    assert "no birth date recorded" in err.message and "subject_birth_date" in err.message


async def test_subject_for_a_deceased_person_is_rejected(service: LikenessService) -> None:
    await service.add_persona(persona(deceased=True), actor="t")
    err = await refused(service.add_consent(consent(granted_by="subject"), actor="t"))
    assert "deceased" in err.message and "next_of_kin" in err.message
    await refused(service.add_consent(consent(granted_by="guardian"), actor="t"))
    assert (await service.add_consent(consent(granted_by="next_of_kin"), actor="t")).granted_by == "next_of_kin"


async def test_next_of_kin_for_a_living_person_is_rejected(service: LikenessService) -> None:
    await service.add_persona(persona(), actor="t")
    err = await refused(service.add_consent(consent(granted_by="next_of_kin"), actor="t"))
    assert "recorded as living" in err.message


async def test_child_under_14_needs_a_guardian_and_14_year_old_consents_alone(
        service: LikenessService, clock: Clock) -> None:
    # T0 is 2026-03-02: born 2012-03-03 -> 13, born 2012-03-02 -> 14 that very day
    await service.add_persona(persona("kid", subject="subj-kid", subject_birth_date="2012-03-03"), actor="t")
    await service.add_persona(persona("teen", subject="subj-teen", subject_birth_date="2012-03-02"), actor="t")
    err = await refused(service.add_consent(consent("subj-kid", granted_by="subject"), actor="t"))
    assert "under 14" in err.message and "guardian" in err.message
    assert (await service.add_consent(consent("subj-kid", granted_by="guardian"), actor="t")).granted_by == "guardian"
    await refused(service.add_consent(consent("subj-teen", granted_by="guardian"), actor="t"))
    assert (await service.add_consent(consent("subj-teen"), actor="t")).granted_by == "subject"


async def test_consent_for_an_unregistered_subject_is_rejected(service: LikenessService) -> None:
    err = await refused(service.add_consent(consent("stranger"), actor="t"))
    assert err.param == "subject_id" and "register the persona" in err.message


async def test_already_expired_consent_is_rejected(service: LikenessService) -> None:
    await service.add_persona(persona(), actor="t")
    await refused(service.add_consent(consent(valid_until="2026-03-01T00:00:00Z"), actor="t"))


# -- subjects: one person, one set of facts ---------------------------------------------------------

async def test_subject_facts_are_shared_and_kept_unless_restated(service: LikenessService) -> None:
    await service.add_persona(persona("a", subject="s", deceased=True, subject_birth_date="1940-02-02"), actor="t")
    # a second persona of the same person, facts not restated: the record keeps them
    b = await service.add_persona(persona("b", subject="s"), actor="t")
    assert b.likeness is not None and b.likeness.deceased is True
    assert str(b.likeness.subject_birth_date) == "1940-02-02"
    # restating a fact changes it for every persona of that person
    await service.patch_persona("b", {"likeness": {"subject_id": "s", "kinds": ["name"], "deceased": False}},
                                actor="t")
    a = await service.get_persona("a")
    assert a.likeness is not None and a.likeness.deceased is False


# -- consents are never edited -----------------------------------------------------------------------

async def test_revoke_then_replace_keeps_full_history(service: LikenessService, clock: Clock,
                                                       recorder: Recorder) -> None:
    await service.add_persona(persona(), actor="t")
    c1 = await service.add_consent(consent(id="c1", scopes=("face",)), actor="t")
    clock.now += 10
    c2 = await service.add_consent(consent(id="c2", replaces="c1"), actor="t")
    clock.now += 10
    revoked = await service.revoke_consent("c2", actor="t", reason="subject withdrew")
    history = await service.list_consents("subj-lin")
    assert [c.id for c in history] == ["c1", "c2"]
    assert history[0].replaced_by == "c2" and history[0].revoked_at is not None
    assert history[0].scopes == c1.scopes == ["face"]  # the original terms are still there, unedited
    assert revoked.revoked_reason == "subject withdrew" and c2.replaces == "c1"
    await refused(service.revoke_consent("c2", actor="t"))  # a revocation is final
    await refused(service.add_consent(consent(id="c1"), actor="t"))  # same id = an edit: refused
    await refused(service.revoke_consent("nope", actor="t"), code="consent_not_found")
    kinds = [(r.kind, r.action, r.consent_id) for r in recorder.records if r.kind == "consent_change"]
    assert kinds == [("consent_change", "add", "c1"), ("consent_change", "replace", "c2"),
                     ("consent_change", "revoke", "c2")]


async def test_replacing_an_unknown_consent_is_rejected(service: LikenessService) -> None:
    await service.add_persona(persona(), actor="t")
    err = await refused(service.add_consent(consent(replaces="ghost"), actor="t"))
    assert err.param == "replaces" and "ghost" in err.message


# -- persona changes and the audit hook --------------------------------------------------------------

async def test_persona_changes_are_recorded_without_birth_dates(service: LikenessService,
                                                                recorder: Recorder) -> None:
    await service.add_persona(persona(subject_birth_date="2001-01-01"), actor="admin-api")
    await service.disable_persona("lin", actor="cli:ops")
    await service.patch_persona("lin", {"enabled": True}, actor="cli:ops")
    await service.patch_persona("lin", {"display_name": "Lin 2", "enabled": True}, actor="cli:ops")
    await service.patch_persona("lin", {"display_name": "Lin 2"}, actor="cli:ops")  # no change: no record
    actions = [(r.kind, r.action, r.actor) for r in recorder.records]
    assert actions == [("persona_change", "add", "admin-api"), ("persona_change", "disable", "cli:ops"),
                       ("persona_change", "enable", "cli:ops"), ("persona_change", "update", "cli:ops")]
    assert all(r.persona_id == "lin" and r.subject_id == "subj-lin" for r in recorder.records)
    assert "2001" not in repr([r.detail for r in recorder.records])
    assert recorder.records[-1].detail["changed"] == ["display_name"]


async def test_duplicate_persona_and_unknown_persona(service: LikenessService) -> None:
    await service.add_persona(persona(), actor="t")
    err = await refused(service.add_persona(persona(), actor="t"))
    assert "already exists" in err.message and "PATCH" in err.message
    await refused(service.patch_persona("ghost", {"enabled": False}, actor="t"), code="persona_not_found")


async def test_a_failing_audit_hook_is_reported_not_swallowed(service: LikenessService) -> None:
    async def broken(_: object) -> None:
        raise OSError("disk full")

    service.on_change = broken
    err = await refused(service.add_persona(persona(), actor="t"), code="audit_unavailable")
    assert err.status == 503 and "was saved" in err.message


# -- personas: in candor.yaml -------------------------------------------------------------------------

async def test_config_personas_are_created_updated_and_never_re_enabled(service: LikenessService,
                                                                        recorder: Recorder) -> None:
    cfg = [persona("a", subject=None), persona("b")]
    await sync_config_personas(service, cfg)
    assert [p.id for p in await service.list_personas()] == ["a", "b"]
    await service.disable_persona("a", actor="admin-api")  # kill switch
    cfg[0]["display_name"] = "Renamed"
    stored = await sync_config_personas(service, cfg)  # a restart
    assert stored[0].display_name == "Renamed" and stored[0].enabled is False
    assert all(r.actor in ("config", "admin-api") for r in recorder.records)
    await sync_config_personas(service, [persona("b", subject=None) | {"enabled": False}])
    assert (await service.get_persona("b")).enabled is False


async def test_invalid_config_personas_name_every_problem(service: LikenessService) -> None:
    with pytest.raises(PersonaConfigError) as err:
        await sync_config_personas(service, [persona("a"), {"id": "b"}, persona("a", subject=None)])
    text = str(err.value)
    assert "personas[1].display_name" in text and "personas[1].relationship" in text
    assert "personas[2].id: duplicate" in text
    assert await service.list_personas() == []  # nothing half-applied


async def test_coverage_report_for_operators(service: LikenessService) -> None:
    p = await service.add_persona(persona(kinds=("face", "voice", "name")), actor="t")
    await service.add_consent(consent(id="cf", scopes=("face", "name")), actor="t")
    cov = await service.consent_coverage(p, now=T0 + 1)
    assert cov == {"covered": ["face", "name"], "missing": ["voice"], "consents": ["cf"]}
