"""The ASGI surface (middleware/http/app.py) as the composition root builds it (adapters/wiring/services.py,
adapters/wiring/protection.py, middleware/services.py), with operator auth (middleware/http/admin_auth.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from adapters.root import build_app
from adapters.wiring.protection import Protection
from adapters.wiring.services import build_services, dev_app
from middleware.config.deployment import load_config
from middleware.http.admin_auth import role_of
from middleware.http.app import CandorASGI
from middleware.services import Services

ADMIN, AUDITOR = "admin-key-app-test", "auditor-key-app-test"


@pytest.fixture
async def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("CANDOR_ADMIN_KEY", ADMIN)
    monkeypatch.setenv("CANDOR_AUDITOR_KEY", AUDITOR)
    monkeypatch.setenv("CANDOR_DEV_APP_KEY", "dev-key-app-test")
    (tmp_path / "policies").mkdir()
    (tmp_path / "candor.yaml").write_text(
        f"audit: {{url: \"sqlite:///{tmp_path}/a.db\", generate_keys: true}}\npolicies_dir: {tmp_path}/policies\n")
    app = build_app(load_config(tmp_path / "candor.yaml"))
    assert isinstance(app, CandorASGI)
    async with app.app.router.lifespan_context(app.app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://candor") as c:
        yield c


async def test_health_models_and_an_unknown_path(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    models = await client.get("/v1/models", headers={"authorization": "Bearer dev-key-app-test"})
    assert [m["id"] for m in models.json()["data"]] == ["candor-demo"]
    missing = await client.get("/v2/nothing")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


async def test_operator_keys_read_and_write_by_role(client: httpx.AsyncClient) -> None:
    assert (await client.get("/admin/personas")).status_code == 401
    assert (await client.get("/admin/personas", headers={"authorization": f"Bearer {AUDITOR}"})).status_code == 200
    write = await client.post("/admin/personas", headers={"authorization": f"Bearer {AUDITOR}"},
                              json={"id": "p", "display_name": "P", "relationship": "friend"})
    assert write.status_code == 403 and write.json()["error"]["code"] == "permission_denied"


def test_the_services_hold_routes_and_hooks(tmp_path: Path) -> None:
    (tmp_path / "candor.yaml").write_text(f"audit: {{url: \"sqlite:///{tmp_path}/a.db\"}}\n")
    services = build_services(load_config(tmp_path / "candor.yaml"))
    assert isinstance(services, Services) and services.on_startup and services.routes
    app, key = dev_app("cn-anthropomorphic-2026", {})
    assert key.startswith("candor-dev-") and app.policy == "cn-anthropomorphic-2026"
    assert Protection.__name__ and role_of.__name__
