"""The complaint routes (middleware/complaints/api.py) on the ASGI app: an app files with its key (201 and a
due date), the admin or auditor lists with strict filters, only the admin resolves (404, 409 as promised)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from adapters.stores.complaints import SqliteComplaintStore
from middleware.audit.events import EventDraft
from middleware.complaints.api import complaint_routes
from middleware.complaints.service import ComplaintService
from middleware.config.deployment import CandorConfig
from middleware.testing import policy
from tests.endpoint_support import APP_KEY, services

ADMIN, AUDITOR = "adm-complaints", "aud-complaints"
NOW = 1_800_000_000.0


@pytest.fixture
async def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[httpx.AsyncClient,
                                                                                         list[EventDraft]]]:
    monkeypatch.setenv("CANDOR_ADMIN_KEY", ADMIN)
    monkeypatch.setenv("CANDOR_AUDITOR_KEY", AUDITOR)
    store = SqliteComplaintStore(tmp_path / "audit.db")
    await store.open()
    drafts: list[EventDraft] = []

    async def record(draft: EventDraft) -> None:
        drafts.append(draft)

    service = ComplaintService(lambda: store, record, lambda: NOW)
    svc, _ = services({})
    routes = complaint_routes(lambda: service, svc.keys, lambda app_id: policy("cn-anthropomorphic-2026"),
                              CandorConfig(), lambda: NOW)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=Starlette(routes=routes)),
                                 base_url="http://candor") as client:
        yield client, drafts
    await store.close()


def h(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


async def test_file_list_and_resolve(env: Any) -> None:
    client, drafts = env
    r = await client.post("/v1/complaints", headers=h(APP_KEY),
                          json={"user": "u-1", "category": "privacy", "text": "delete my data"})
    assert r.status_code == 201, r.text
    filed = r.json()
    assert filed["due_by"] and filed["id"] and drafts[-1].kind == "complaint"
    listed = (await client.get("/admin/complaints", headers=h(AUDITOR), params={"status": "open"})).json()
    assert [c["id"] for c in listed["data"]] == [filed["id"]] and listed["object"] == "list"
    r = await client.post(f"/admin/complaints/{filed['id']}/resolve", headers=h(AUDITOR), json={"resolution": "x"})
    assert r.status_code == 403                     # the auditor may read, not write
    r = await client.post(f"/admin/complaints/{filed['id']}/resolve", headers=h(ADMIN),
                          json={"resolution": "deleted and answered"})
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    again = await client.post(f"/admin/complaints/{filed['id']}/resolve", headers=h(ADMIN),
                              json={"resolution": "twice"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "complaint_already_resolved"
    missing = await client.post("/admin/complaints/nope/resolve", headers=h(ADMIN), json={"resolution": "x"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "complaint_not_found"


@pytest.mark.parametrize(("params", "param"), [
    ({"status": "closed"}, "status"), ({"limit": "ten"}, "limit"), ({"limit": "0"}, "limit"),
    ({"limit": "1001"}, "limit"), ({"sort": "asc"}, "sort"),
])
async def test_the_listing_refuses_bad_filters(env: Any, params: dict[str, str], param: str) -> None:
    client, _ = env
    r = await client.get("/admin/complaints", headers=h(ADMIN), params=params)
    assert r.status_code == 400 and r.json()["error"]["param"] == param


async def test_filing_needs_the_app_key_and_a_valid_body(env: Any) -> None:
    client, drafts = env
    r = await client.post("/v1/complaints", headers=h(ADMIN), json={"user": "u", "category": "other", "text": "x"})
    assert r.status_code == 401
    r = await client.post("/v1/complaints", headers=h(APP_KEY), json={"user": "u", "category": "rude", "text": "x"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "category"
    assert drafts == []
    r = await client.get("/admin/complaints")
    assert r.status_code == 401
