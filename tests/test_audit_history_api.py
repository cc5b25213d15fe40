"""``GET /v1/users/{user}/history`` (middleware/audit/history_api.py): the app key's own users only, json or
markdown, unknown parameters refused, and every copy recorded as a ``history_export`` event."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import orjson
import pytest

from middleware.audit.history_api import history_routes
from middleware.audit.log import AuditLog
from middleware.audit.store import EventFilter
from middleware.http.auth import App, AppKeys
from middleware.testing import policy
from tests.test_audit_support import conversation, keys_fixture, sqlite_log_fixture  # noqa: F401

KEY = "sk-app-history"


class Policies:
    def get(self, policy_id: str) -> Any:
        return policy(policy_id)


def _client(log: AuditLog, producer: str | None = "OP-CODE") -> httpx.AsyncClient:
    from starlette.applications import Starlette

    keys = AppKeys([App("demo-app", "cn-anthropomorphic-2026", hashlib.sha256(KEY.encode()).digest())])
    app = Starlette(routes=history_routes(keys, lambda: log, Policies(), producer))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://candor",
                             headers={"authorization": f"Bearer {KEY}"})


async def test_json_copy_and_its_audit_record(sqlite_log: AuditLog) -> None:
    await sqlite_log.append(conversation("alice", "我在呢"))
    async with _client(sqlite_log) as client:
        r = await client.get("/v1/users/alice/history")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    doc = r.json()
    assert [e["reply"] for e in doc["entries"]] == ["我在呢"] and doc["AIGC"]["ContentProducer"] == "OP-CODE"
    rows = await sqlite_log.store.query(EventFilter(kind="history_export"), None, 10)
    assert len(rows) == 1
    event = orjson.loads(rows[0].body)
    detail = event["decisions"][0]["detail"]
    assert detail["format"] == "json" and detail["replies"] == 1 and detail["file_id"] == doc["AIGC"]["ProduceID"]
    assert "我在呢" not in rows[0].body.decode()   # the record names the copy, never its text


async def test_markdown_is_an_attachment_with_front_matter(sqlite_log: AuditLog) -> None:
    await sqlite_log.append(conversation("alice", "我在呢"))
    async with _client(sqlite_log) as client:
        r = await client.get("/v1/users/alice/history", params={"format": "markdown"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/markdown")
    assert "attachment" in r.headers["content-disposition"]
    assert r.text.startswith("---\nAIGC: ") and "我在呢" in r.text


@pytest.mark.parametrize(("params", "status", "param"), [
    ({"format": "pdf"}, 400, "format"),
    ({"since": "yesterday"}, 400, "since"),
])
async def test_bad_queries_are_refused_in_the_openai_shape(sqlite_log: AuditLog, params: dict[str, str],
                                                          status: int, param: str) -> None:
    async with _client(sqlite_log) as client:
        r = await client.get("/v1/users/alice/history", params=params)
    assert r.status_code == status and r.json()["error"]["param"] == param
    assert await sqlite_log.store.query(EventFilter(kind="history_export"), None, 10) == []


async def test_another_key_sees_nothing(sqlite_log: AuditLog) -> None:
    async with _client(sqlite_log) as client:
        r = await client.get("/v1/users/alice/history", headers={"authorization": "Bearer wrong"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
