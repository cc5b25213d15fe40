"""End-to-end (issue 14): 50 poisoned requests (nesting 300 deep, huge strings, invalid surrogates in
nested fields) among normal traffic, under fail-closed and fail-open apps at once. Every normal request
is answered, every poisoned one gets its own error in the OpenAI shape and its own audit event, the
store never goes "down", and ``verify`` passes afterwards."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from adapters.root import audit_store as open_store
from middleware.audit.keys import load_verify_keys
from middleware.audit.verify import verify_store
from middleware.config.deployment import load_config
from tests import web
from tests.clockproxy import running_proxy

FAIL_OPEN = """
id: test-open
extends: cn-anthropomorphic-2026
title: fail open
audit: {fail: open, retention: 190d, store_content: true}
"""
AUDITOR = "auditor-poison"


def deep(n: int) -> Any:
    value: Any = "x"
    for _ in range(n):
        value = [value]
    return value


def poisoned(i: int) -> tuple[dict[str, str], bytes]:
    """(extra headers, raw body) of the i-th poisoned request."""
    kind = i % 5
    if kind == 0:    # a content part nested 300 deep: parses, but no JSON encoder writes it back
        body = {"model": "candor-demo", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "hi", "extra": deep(300)}]}]}
        return {}, json.dumps(body).encode()   # the standard library writes what orjson refuses to
    if kind == 1:    # a lone surrogate deep inside a nested field
        return {}, (b'{"model":"candor-demo","messages":[{"role":"user","content":"hi","metadata":'
                    b'{"a":[{"b":"\\ud800"}]}}]}')
    if kind == 2:    # a huge string: over the body limit
        return {}, orjson.dumps({"model": "candor-demo", "messages": [{"role": "user", "content": "z" * 300_000}]})
    if kind == 3:    # a huge session id header
        return {"X-Candor-Session": "s" * 5000}, orjson.dumps(
            {"model": "candor-demo", "messages": [{"role": "user", "content": "hi"}]})
    # a lone low surrogate in a nested tool call argument
    return {}, (b'{"model":"candor-demo","messages":[{"role":"assistant","content":null,"tool_calls":'
                b'[{"id":"t","type":"function","function":{"name":"f","arguments":"\\udc00"}}]},'
                b'{"role":"user","content":"hi"}]}')


def test_poisoned_requests_among_normal_traffic(tmp_path: Path) -> None:
    cfg = {
        "server": {"max_body_bytes": 200_000},
        "models": [{"name": "candor-demo", "target": "candor/demo"}],
        "apps": [{"id": "closed", "key_env": "APP_CLOSED"},
                 {"id": "open", "key_env": "APP_OPEN", "policy": "test-open"}],
        "audit": {"url": f"sqlite:///{tmp_path}/audit.db", "key_dir": str(tmp_path / "keys")},
    }
    env = {"APP_CLOSED": "k-closed", "APP_OPEN": "k-open", "CANDOR_AUDITOR_KEY": AUDITOR}
    with running_proxy(tmp_path, cfg, {"test-open": FAIL_OPEN}, env=env) as (server, _):
        url = server.url + "/v1/chat/completions"

        def send(i: int) -> tuple[str, int, dict[str, Any], str | None]:
            key = "k-closed" if i % 2 else "k-open"
            headers = {"Authorization": f"Bearer {key}", "content-type": "application/json",
                       "X-Candor-User": f"user-{i % 7}"}
            if i % 3 == 0 and i // 3 < 50:
                extra, raw = poisoned(i // 3)
                r = web.post(url, content=raw, headers={**headers, **extra}, timeout=30)
                return "poison", r.status_code, r.json(), r.headers.get("x-candor-event-id")
            body = {"model": "candor-demo", "messages": [{"role": "user", "content": f"hello {i}"}]}
            r = web.post(url, json=body, headers=headers, timeout=30)
            return "normal", r.status_code, r.json(), r.headers.get("x-candor-event-id")

        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(send, range(200)))
        normal = [r for r in results if r[0] == "normal"]
        bad = [r for r in results if r[0] == "poison"]
        assert len(bad) == 50 and len(normal) == 150
        assert all(status == 200 for _, status, _, _ in normal), [r[1:3] for r in normal if r[1] != 200][:3]
        for _, status, body, event_id in bad:
            assert status in (400, 413), body
            assert set(body["error"]) == {"message", "type", "code", "param"}
            assert body["error"]["code"] in ("invalid_request", "request_too_large")
            assert event_id
        assert web.get(server.url + "/readyz").status_code == 200   # the store never went "down"

        recorded: set[str] = set()
        cursor: str | None = None
        while True:
            params = {"kind": "refusal,error", "limit": "1000", **({"cursor": cursor} if cursor else {})}
            page = web.get(server.url + "/audit/events", params=params,
                           headers={"Authorization": f"Bearer {AUDITOR}"}).json()
            recorded |= {e["event_id"] for e in page["data"]}
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert {r[3] for r in bad} <= recorded   # each poisoned request has its own event

    config = load_config(tmp_path / "candor.yaml", environ={})

    async def check() -> Any:
        store = open_store(config.audit.url, config.base_dir)
        await store.open()
        try:
            return await verify_store(store, load_verify_keys(config))
        finally:
            await store.close()

    result = asyncio.run(check())
    assert result.ok, result.problems
    assert result.events >= 200
