"""Admin and auditor API: roles, OpenAI error shapes, precise 400s, the consent history export."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from middleware.config.deployment import CandorConfig
from middleware.likeness.api import likeness_routes
from middleware.likeness.service import LikenessService
from tests.test_likeness_support import SHA, Recorder, consent, persona

ADMIN, AUDITOR = "adm-" + "k" * 20, "aud-" + "k" * 20

pytest_plugins = ["tests.test_likeness_support"]  # the shared store/service fixtures


@pytest.fixture
async def api(service: LikenessService, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("CANDOR_ADMIN_KEY", ADMIN)
    monkeypatch.setenv("CANDOR_AUDITOR_KEY", AUDITOR)
    app = Starlette(routes=likeness_routes(lambda: service, CandorConfig()))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://candor") as client:
        yield client


def admin(key: str = ADMIN) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def assert_error(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "code", "param"}
    assert body["error"]["code"] == code and body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


async def test_full_flow_create_show_revoke(api: httpx.AsyncClient, recorder: Recorder) -> None:
    r = await api.post("/admin/personas", json=persona(kinds=("face", "voice")), headers=admin())
    assert r.status_code == 201 and r.json()["likeness"]["kinds"] == ["face", "voice"]
    shown = (await api.get("/admin/personas/lin", headers=admin(AUDITOR))).json()
    assert shown["consent"]["missing"] == ["face", "voice"]
    r = await api.post("/admin/consents", json=consent(), headers=admin())
    assert r.status_code == 201
    created = r.json()
    assert created["id"].startswith("cns_") and created["evidence_sha256"] == SHA and created["revoked_at"] is None
    shown = (await api.get("/admin/personas/lin", headers=admin())).json()
    assert shown["consent"]["covered"] == ["face", "voice"] and shown["consent"]["missing"] == []
    r = await api.post(f"/admin/consents/{created['id']}/revoke", json={"reason": "withdrawn"}, headers=admin())
    assert r.status_code == 200 and r.json()["revoked_reason"] == "withdrawn" and r.json()["status"] == "revoked"
    r = await api.get(f"/admin/consents/{created['id']}", headers=admin(AUDITOR))
    assert r.json()["status"] == "revoked"
    assert [(c.kind, c.action, c.actor) for c in recorder.records] == [
        ("persona_change", "add", "admin-api"), ("consent_change", "add", "admin-api"),
        ("consent_change", "revoke", "admin-api")]


async def test_patch_and_list_personas(api: httpx.AsyncClient) -> None:
    await api.post("/admin/personas", json=persona(subject=None), headers=admin())
    r = await api.patch("/admin/personas/lin", json={"enabled": False, "relationship": "friend"}, headers=admin())
    assert r.status_code == 200 and r.json()["enabled"] is False and r.json()["relationship"] == "friend"
    listed = (await api.get("/admin/personas", headers=admin(AUDITOR))).json()
    assert listed["object"] == "list" and [p["id"] for p in listed["data"]] == ["lin"]


async def test_missing_and_wrong_keys_are_401(api: httpx.AsyncClient) -> None:
    assert_error(await api.get("/admin/personas"), 401, "invalid_api_key")
    assert_error(await api.get("/admin/personas", headers=admin("nope")), 401, "invalid_api_key")
    assert_error(await api.get("/admin/personas", headers={"Authorization": f"Basic {ADMIN}"}), 401,
                 "invalid_api_key")


async def test_auditor_key_reads_but_cannot_write(api: httpx.AsyncClient, service: LikenessService) -> None:
    for method, path, body in (("POST", "/admin/personas", persona()),
                               ("PATCH", "/admin/personas/lin", {"enabled": False}),
                               ("POST", "/admin/consents", consent()),
                               ("POST", "/admin/consents/x/revoke", {})):
        err = assert_error(await api.request(method, path, json=body, headers=admin(AUDITOR)), 403,
                           "permission_denied")
        assert "admin key" in err["message"] and err["type"] == "permission_error"
    assert await service.list_personas() == []
    assert (await api.get("/admin/consents", headers=admin(AUDITOR))).status_code == 200


async def test_admin_api_disabled_without_keys(api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CANDOR_ADMIN_KEY")
    monkeypatch.delenv("CANDOR_AUDITOR_KEY")
    err = assert_error(await api.get("/admin/personas", headers=admin()), 401, "invalid_api_key")
    assert "$CANDOR_ADMIN_KEY" in err["message"]


@pytest.mark.parametrize("body, param, words", [
    ({**persona(), "relationship": "lover"}, "relationship", "relationship: Input should be"),
    ({**persona(), "extra": 1}, "extra", "unknown field"),
    (persona(kinds=("fingerprint",)), "likeness.kinds.0", "likeness.kinds.0"),
    ([1, 2], None, "must be a JSON object"),
])
async def test_bad_persona_bodies_get_precise_400s(api: httpx.AsyncClient, body: Any, param: str | None,
                                                   words: str) -> None:
    err = assert_error(await api.post("/admin/personas", json=body, headers=admin()), 400, "invalid_request")
    assert err["param"] == param and words in err["message"] and err["type"] == "invalid_request_error"


async def test_malformed_json_and_bad_consents(api: httpx.AsyncClient) -> None:
    err = assert_error(await api.post("/admin/personas", content=b"{nope", headers=admin()), 400, "invalid_request")
    assert "not valid JSON" in err["message"]
    await api.post("/admin/personas", json=persona(deceased=True), headers=admin())
    err = assert_error(await api.post("/admin/consents", json=consent(granted_by="subject"), headers=admin()), 400,
                       "invalid_request")
    assert err["param"] == "granted_by" and "next_of_kin" in err["message"]
    err = assert_error(await api.post("/admin/consents", json=consent(evidence_sha256="abc"), headers=admin()), 400,
                       "invalid_request")
    assert err["param"] == "evidence_sha256"
    body = consent(granted_by="next_of_kin")
    del body["evidence_sha256"]
    err = assert_error(await api.post("/admin/consents", json=body, headers=admin()), 400, "invalid_request")
    assert "evidence_sha256: Field required" in err["message"]
    err = assert_error(await api.post("/admin/consents/x/revoke", json={"why": 1}, headers=admin()), 400,
                       "invalid_request")


async def test_unknown_ids_are_404(api: httpx.AsyncClient) -> None:
    assert_error(await api.get("/admin/personas/ghost", headers=admin()), 404, "persona_not_found")
    assert_error(await api.patch("/admin/personas/ghost", json={"enabled": False}, headers=admin()), 404,
                 "persona_not_found")
    assert_error(await api.get("/admin/consents/ghost", headers=admin()), 404, "consent_not_found")
    assert_error(await api.post("/admin/consents/ghost/revoke", headers=admin()), 404, "consent_not_found")


async def test_auditor_exports_a_subjects_full_history(api: httpx.AsyncClient) -> None:
    await api.post("/admin/personas", json=persona(), headers=admin())
    await api.post("/admin/personas", json=persona("lin2", subject="subj-lin"), headers=admin())
    await api.post("/admin/personas", json=persona("other", subject="subj-other"), headers=admin())
    await api.post("/admin/consents", json=consent(id="c1"), headers=admin())
    await api.post("/admin/consents", json=consent(id="c2", replaces="c1"), headers=admin())
    await api.post("/admin/consents", json=consent("subj-other", id="o1"), headers=admin())
    await api.post("/admin/consents/c2/revoke", json={"reason": "withdrawn"}, headers=admin())
    r = await api.get("/admin/consents", params={"subject_id": "subj-lin", "history": "1"}, headers=admin(AUDITOR))
    assert r.status_code == 200
    export = r.json()
    assert export["object"] == "consent_history" and export["subject"]["id"] == "subj-lin"
    assert export["personas"] == ["lin", "lin2"]
    assert [(c["id"], c["status"], c["replaced_by"]) for c in export["data"]] == [
        ("c1", "revoked", "c2"), ("c2", "revoked", None)]
    active = await api.get("/admin/consents", params={"status": "active"}, headers=admin(AUDITOR))
    assert [c["id"] for c in active.json()["data"]] == ["o1"]
    assert_error(await api.get("/admin/consents", params={"history": "1"}, headers=admin()), 400, "invalid_request")
    assert_error(await api.get("/admin/consents", params={"subject_id": "nobody", "history": "1"},
                               headers=admin()), 404, "subject_not_found")
    assert_error(await api.get("/admin/consents", params={"status": "gone"}, headers=admin()), 400,
                 "invalid_request")
