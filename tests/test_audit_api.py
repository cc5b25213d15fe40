"""The audit HTTP API: roles (admin writes, auditor reads only, nobody else), filters, pagination."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from middleware.audit.api import audit_routes
from middleware.audit.keys import AuditKeys
from middleware.audit.log import AuditLog
from middleware.config.deployment import CandorConfig
from tests.test_audit_support import Backend, backend_fixture, draft, keys_fixture, open_log  # noqa: F401

ADMIN, AUDITOR = "admin-secret-key", "auditor-secret-key"


@pytest.fixture
async def api(backend: Backend, keys: AuditKeys, monkeypatch: pytest.MonkeyPatch
              ) -> AsyncIterator[tuple[httpx.AsyncClient, AuditLog]]:
    monkeypatch.setenv("CANDOR_ADMIN_KEY", ADMIN)
    monkeypatch.setenv("CANDOR_AUDITOR_KEY", AUDITOR)
    cfg = CandorConfig.model_validate({"audit": {"url": backend.url, "key_dir": str(backend.tmp / "keys")}})
    log = await open_log(backend, keys)
    app = Starlette(routes=audit_routes(lambda: log, cfg))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://candor") as client:
        yield client, log
    await log.close()


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_no_or_unknown_key_is_401(api: Any) -> None:
    client, _ = api
    for headers in ({}, auth("sk-some-app-key"), {"Authorization": "Basic eDp5"}):
        r = await client.get("/audit/events", headers=headers)
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "invalid_api_key" and set(r.json()["error"]) == {
            "message", "type", "code", "param"}
    assert (await client.delete("/admin/users/alice/content")).status_code == 401
    assert (await client.get("/audit/verify")).status_code == 401


async def test_auditor_reads_but_cannot_erase(api: Any) -> None:
    client, log = api
    e = await log.append(draft(0, content={"reply": "hello"}))
    r = await client.get("/audit/events", params={"kind": "exchange"}, headers=auth(AUDITOR))
    assert r.status_code == 200 and [x["event_id"] for x in r.json()["data"]] == [e.event_id]
    assert "content" not in r.json()["data"][0]
    r = await client.get("/audit/events", params={"include_content": "1", "kind": "exchange"}, headers=auth(AUDITOR))
    assert r.status_code == 403 and r.json()["error"]["code"] == "permission_denied"
    r = await client.delete("/admin/users/alice/content", headers=auth(AUDITOR))
    assert r.status_code == 403 and r.json()["error"]["code"] == "permission_denied"
    r = await client.get("/audit/verify", headers=auth(AUDITOR))
    assert r.status_code == 200 and r.json()["ok"] is True
    assert any("no anchor file" in c for c in r.json()["caveats"])   # says what it could not rule out
    r = await client.get("/audit/verify", params={"receipt": "x"}, headers=auth(AUDITOR))
    assert r.status_code == 400 and r.json()["error"]["param"] == "receipt"


async def test_admin_erases_and_the_erasure_is_an_event(api: Any, keys: AuditKeys) -> None:
    client, log = api
    await log.append(draft(0, user="alice", content={"reply": "hello"}))
    r = await client.delete("/admin/users/alice/content", headers=auth(ADMIN))
    assert r.status_code == 200
    body = r.json()
    assert body["keys_destroyed"] == 1 and body["contents_deleted"] == 1
    assert body["user_ref"] == keys.user_ref("alice")
    r = await client.get("/audit/events", params={"user": "alice", "include_content": "true"}, headers=auth(ADMIN))
    data = r.json()["data"]
    assert [(x["kind"], x["content"]) for x in data] == [("exchange", "erased"), ("erasure", None)]
    assert data[1]["event_id"] == body["event_id"]
    assert (await client.get("/audit/verify", headers=auth(ADMIN))).json()["ok"] is True


async def test_filters_and_cursor_pagination(api: Any) -> None:
    client, log = api
    mine = [await log.append(draft(i, session="s-page")) for i in range(7)]
    await log.append(draft(0, session="other"))
    await log.append(draft(0, kind="refusal", session="other"))
    seen: list[str] = []
    params: dict[str, str] = {"session": "s-page", "limit": "3"}
    while True:
        r = await client.get("/audit/events", params=params, headers=auth(AUDITOR))
        assert r.status_code == 200
        seen += [x["event_id"] for x in r.json()["data"]]
        if not r.json()["next_cursor"]:
            break
        params["cursor"] = r.json()["next_cursor"]
    assert seen == [e.event_id for e in mine]
    r = await client.get("/audit/events", params={"kind": "refusal"}, headers=auth(AUDITOR))
    assert [x["kind"] for x in r.json()["data"]] == ["refusal"]
    r = await client.get("/audit/events", params={"since": "1h", "until": "2000-01-01"}, headers=auth(AUDITOR))
    assert r.json()["data"] == []
    for bad in ({"kind": "chat"}, {"limit": "0"}, {"cursor": "!!"}, {"since": "yesterday-ish"}):
        r = await client.get("/audit/events", params=bad, headers=auth(AUDITOR))
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_request"


async def test_kind_takes_a_comma_list(api: Any) -> None:
    client, log = api
    await log.append(draft(0))
    await log.append(draft(0, kind="refusal"))
    await log.append(draft(0, kind="crisis"))
    r = await client.get("/audit/events", params={"kind": "refusal,crisis"}, headers=auth(AUDITOR))
    assert r.status_code == 200 and sorted(x["kind"] for x in r.json()["data"]) == ["crisis", "refusal"]
    r = await client.get("/audit/events", params={"kind": "refusal,chat"}, headers=auth(AUDITOR))
    assert r.status_code == 400 and "chat" in r.json()["error"]["message"]


async def test_unknown_or_repeated_query_parameters_are_refused(api: Any) -> None:
    """A typo must not silently widen an auditor's query (``sesion=`` would return every session)."""
    client, log = api
    await log.append(draft(0, session="s1"))
    for query in ("sesion=s1", "session=s1&user_id=alice", "session=s1&session=s2"):
        r = await client.get(f"/audit/events?{query}", headers=auth(AUDITOR))
        assert r.status_code == 400, query
        err = r.json()["error"]
        assert err["code"] == "invalid_request" and err["param"] is not None, query
