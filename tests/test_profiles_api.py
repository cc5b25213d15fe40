"""/admin/users routes over HTTP (httpx.ASGITransport): roles, bodies, error shapes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from adapters.sqlite.profiles import SqliteProfileStore
from middleware.config.deployment import CandorConfig
from middleware.profiles.api import profile_routes
from middleware.profiles.service import ProfileService
from tests.test_profiles_support import Recorder

ADMIN, AUDITOR = "adm-key-profiles", "aud-key-profiles"


def usage_for(user_id: str) -> dict[str, Any]:
    return {"user_id": user_id, "today_minutes": 42, "daily_limit_minutes": 60}


@pytest.fixture
async def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("CANDOR_ADMIN_KEY", ADMIN)
    monkeypatch.setenv("CANDOR_AUDITOR_KEY", AUDITOR)
    store = SqliteProfileStore(tmp_path / "audit.db")
    await store.open()
    recorder = Recorder()
    service = ProfileService(store, on_change=recorder)
    app = Starlette(routes=profile_routes(lambda: service, CandorConfig(), usage_for))
    app.state.recorder = recorder
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://candor.test") as c:
        yield c
    await store.close()


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def assert_error(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "code", "param"}
    assert body["error"]["code"] == code and body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


PROFILE = {"age_band": "under14", "guardian_consent": True, "guardian_contact": "mum@example.com",
           "emergency_contact": "+86 120", "blocked_personas": ["lover"], "unlabeled_allowed": False}


async def test_admin_puts_and_both_roles_read(client: httpx.AsyncClient) -> None:
    r = await client.put("/admin/users/kid-1", json=PROFILE, headers=auth(ADMIN))
    assert r.status_code == 200, r.text
    body = r.json()
    assert {k: body[k] for k in PROFILE} == PROFILE
    assert body["user_id"] == "kid-1" and body["version"] == 1 and body["minors_mode"] is False
    for key in (ADMIN, AUDITOR):
        got = await client.get("/admin/users/kid-1", headers=auth(key))
        assert got.status_code == 200 and got.json() == body


async def test_auditor_cannot_write(client: httpx.AsyncClient) -> None:
    r = await client.put("/admin/users/kid-1", json=PROFILE, headers=auth(AUDITOR))
    err = assert_error(r, 403, "permission_denied")
    assert err["type"] == "permission_error" and "admin key" in err["message"]
    r = await client.patch("/admin/users/kid-1", json={"age_band": "adult"}, headers=auth(AUDITOR))
    assert_error(r, 403, "permission_denied")
    assert_error(await client.get("/admin/users/kid-1", headers=auth(ADMIN)), 404, "user_not_found")


async def test_missing_or_wrong_key_is_401(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/admin/users/a"), 401, "invalid_api_key")
    assert_error(await client.get("/admin/users/a", headers=auth("sk-app-key")), 401, "invalid_api_key")
    assert_error(await client.get("/admin/users/a", headers={"Authorization": ADMIN}), 401, "invalid_api_key")


async def test_admin_api_disabled_without_keys(client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CANDOR_ADMIN_KEY")
    monkeypatch.delenv("CANDOR_AUDITOR_KEY")
    err = assert_error(await client.get("/admin/users/a", headers=auth(ADMIN)), 401, "invalid_api_key")
    assert "CANDOR_ADMIN_KEY" in err["message"]


async def test_bad_bodies_are_400_invalid_request(client: httpx.AsyncClient) -> None:
    err = assert_error(await client.put("/admin/users/a", json={"age_band": "kid"}, headers=auth(ADMIN)),
                       400, "invalid_request")
    assert err["param"] == "age_band" and err["type"] == "invalid_request_error"
    err = assert_error(await client.put("/admin/users/a", json={"nickname": "x"}, headers=auth(ADMIN)),
                       400, "invalid_request")
    assert "unknown field" in err["message"]
    assert_error(await client.put("/admin/users/a", content=b"{not json", headers=auth(ADMIN)), 400,
                 "invalid_request")
    assert_error(await client.put("/admin/users/a", json=["list"], headers=auth(ADMIN)), 400, "invalid_request")
    assert_error(await client.put("/admin/users/a", content=b"x" * 70_000, headers=auth(ADMIN)), 413,
                 "request_too_large")


async def test_patch_changes_only_given_fields(client: httpx.AsyncClient) -> None:
    await client.put("/admin/users/kid-1", json=PROFILE, headers=auth(ADMIN))
    r = await client.patch("/admin/users/kid-1", json={"block_personas": ["spouse"], "minors_mode_override": True},
                           headers=auth(ADMIN))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["blocked_personas"] == ["lover", "spouse"] and body["guardian_contact"] == "mum@example.com"
    assert body["minors_mode_override"] is True and body["version"] == 2


async def test_changes_reach_the_audit_hook_with_the_api_as_actor(client: httpx.AsyncClient) -> None:
    await client.put("/admin/users/kid-1", json=PROFILE, headers=auth(ADMIN))
    recorder: Recorder = client._transport.app.state.recorder  # type: ignore[attr-defined]
    assert [(r.action, r.actor, r.user_id) for r in recorder.records] == [("create", "admin-api", "kid-1")]


async def test_usage_renders_what_the_proxy_returns(client: httpx.AsyncClient) -> None:
    r = await client.get("/admin/users/kid-1/usage", headers=auth(AUDITOR))
    assert r.status_code == 200 and r.json() == usage_for("kid-1")
    assert_error(await client.get("/admin/users/kid-1/usage"), 401, "invalid_api_key")


async def test_async_usage_callable_and_no_callable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CANDOR_ADMIN_KEY", ADMIN)
    store = SqliteProfileStore(tmp_path / "audit.db")
    await store.open()
    service = ProfileService(store)

    async def async_usage(user_id: str) -> dict[str, Any]:
        return {"async": user_id}

    for usage, expect in ((async_usage, 200), (None, 404)):
        app = Starlette(routes=profile_routes(lambda: service, CandorConfig(), usage))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            r = await c.get("/admin/users/u1/usage", headers=auth(ADMIN))
            assert r.status_code == expect
            if expect == 200:
                assert r.json() == {"async": "u1"}
    await store.close()
