"""GET /admin/alerts over HTTP (httpx.ASGITransport): roles, filters, error shapes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from adapters.sqlite.alerts_outbox import SqliteOutboxStore
from middleware.alerts.api import alert_routes
from middleware.alerts.models import Alert
from middleware.alerts.outbox import AlertOutbox
from middleware.config.deployment import CandorConfig

ADMIN, AUDITOR = "adm-key-alerts", "aud-key-alerts"


@pytest.fixture
async def setup(tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[httpx.AsyncClient, AlertOutbox]]:
    monkeypatch.setenv("CANDOR_ADMIN_KEY", ADMIN)
    monkeypatch.setenv("CANDOR_AUDITOR_KEY", AUDITOR)
    store = SqliteOutboxStore(tmp_path / "audit.db")
    await store.open()
    outbox = AlertOutbox(store, None)  # no webhook configured: alerts wait here for an operator
    app = Starlette(routes=alert_routes(lambda: outbox, CandorConfig()))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://candor.test") as c:
        yield c, outbox
    await store.close()


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_pending_alerts_are_listed_for_both_roles(setup: tuple[httpx.AsyncClient, AlertOutbox]) -> None:
    client, outbox = setup
    a = await outbox.enqueue(Alert(kind="suspected_minor", user_ref="ur_1", guardian_contact="mum",
                                   event_id="evt_9", created_at="2026-03-01T00:00:00Z"))  # type: ignore[arg-type]
    b = await outbox.enqueue(Alert(kind="crisis", user_ref="ur_2", level="explicit_intent"))
    for key in (ADMIN, AUDITOR):
        r = await client.get("/admin/alerts?status=pending", headers=auth(key))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["object"] == "list" and body["delivering"] is False
        assert [x["id"] for x in body["data"]] == [b.id, a.id]  # newest first
        first = body["data"][1]
        assert first["kind"] == "suspected_minor" and first["guardian_contact"] == "mum"
        assert first["event_id"] == "evt_9"
        assert first["delivery"]["status"] == "pending" and first["delivery"]["attempts"] == 0
    one = await client.get(f"/admin/alerts/{a.id}", headers=auth(AUDITOR))
    assert one.status_code == 200 and one.json()["id"] == a.id
    assert (await client.get("/admin/alerts?status=delivered", headers=auth(ADMIN))).json()["data"] == []
    assert len((await client.get("/admin/alerts?status=all&limit=1", headers=auth(ADMIN))).json()["data"]) == 1


@pytest.mark.parametrize(("path", "headers", "status", "code"), [
    ("/admin/alerts", {}, 401, "invalid_api_key"),
    ("/admin/alerts", auth("app-key"), 401, "invalid_api_key"),
    ("/admin/alerts?status=lost", auth(ADMIN), 400, "invalid_request"),
    ("/admin/alerts?limit=0", auth(ADMIN), 400, "invalid_request"),
    ("/admin/alerts?limit=abc", auth(ADMIN), 400, "invalid_request"),
    ("/admin/alerts/alr_nope", auth(ADMIN), 404, "alert_not_found"),
])
async def test_errors_use_the_openai_shape(setup: tuple[httpx.AsyncClient, AlertOutbox], path: str,
                                           headers: dict[str, str], status: int, code: str) -> None:
    client, _ = setup
    r = await client.get(path, headers=headers)
    assert r.status_code == status
    error = r.json()["error"]
    assert error["code"] == code and error["message"] and "type" in error and "param" in error
