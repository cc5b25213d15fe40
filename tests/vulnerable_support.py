"""Shared pieces of the vulnerable-users end-to-end tests: a running proxy over the shipped CN packs
(plus an ``augment`` variant), the openai SDK, and the admin/auditor API over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests import web
from tests.clockproxy import VirtualClock, running_proxy, sdk
from tests.stubs import ServerThread, StubProvider

KEY = "sk-vulnerable-cn"
STRICT_KEY = "sk-vulnerable-strict"
AUGMENT_KEY = "sk-vulnerable-augment"
ADMIN = "admin-key-vulnerable"
AUDITOR = "auditor-key-vulnerable"

AUGMENT = """
id: test-augment
extends: cn-anthropomorphic-2026
title: crisis replies added to the model's answer
crisis: {action: augment, cites: [ANTH-CRISIS-1, ANTH-CRISIS-2]}
"""


def proxy_config(stub: StubProvider, **extra: Any) -> dict[str, Any]:
    return {
        "models": [{"name": "companion", "target": "openai/stub-model",
                    "api_base": f"{stub.url}/v1", "api_key_env": "STUB_KEY"}],  # type: ignore[attr-defined]
        "apps": [{"id": "cn", "key_env": "APP_CN", "policy": "cn-anthropomorphic-2026"},
                 {"id": "strict", "key_env": "APP_STRICT", "policy": "cn-anthropomorphic-draft-strict"},
                 {"id": "augment", "key_env": "APP_AUGMENT", "policy": "test-augment"}],
        **extra,
    }


ENV = {"STUB_KEY": "sk-stub", "APP_CN": KEY, "APP_STRICT": STRICT_KEY, "APP_AUGMENT": AUGMENT_KEY,
       "CANDOR_ADMIN_KEY": ADMIN, "CANDOR_AUDITOR_KEY": AUDITOR}


@pytest.fixture
def proxy(tmp_path: Path, stub: StubProvider) -> Iterator[tuple[ServerThread, VirtualClock]]:
    with running_proxy(tmp_path, proxy_config(stub), {"test-augment": AUGMENT}, env=ENV) as running:
        yield running


def ask(client: openai.OpenAI, text: str, user: str, stream: bool, history: list[dict[str, str]] | None = None,
        **headers: str) -> tuple[str, dict[str, Any], list[str]]:
    """(assistant text, compliance, the content pieces as the client received them)."""
    msgs = [*(history or []), {"role": "user", "content": text}]
    extra = {"X-Candor-User": user, **headers}
    if not stream:
        reply = client.chat.completions.create(model="companion", messages=msgs, extra_headers=extra)  # type: ignore[arg-type]
        content = reply.choices[0].message.content or ""
        return content, (reply.model_extra or {})["compliance"], [content]
    chunks = list(client.chat.completions.create(model="companion", messages=msgs, extra_headers=extra,  # type: ignore[arg-type]
                                                 stream=True))
    first = (chunks[0].model_extra or {})["compliance"]
    last = (chunks[-1].model_extra or {})["compliance"]
    pieces = [c.choices[0].delta.content or "" for c in chunks if c.choices]
    return "".join(pieces), {**last, "notices": first["notices"], "label": first["label"]}, pieces


def kinds(comp: dict[str, Any]) -> list[str]:
    return [n["kind"] for n in comp["notices"]]


def admin(server: ServerThread, method: str, path: str, body: Any = None, key: str = ADMIN) -> httpx.Response:
    return web.request(method, server.url + path, json=body, headers={"authorization": f"Bearer {key}"},
                       timeout=10)


def set_profile(server: ServerThread, user: str, **fields: Any) -> dict[str, Any]:
    resp = admin(server, "PUT", f"/admin/users/{user}", fields)
    assert resp.status_code == 200, resp.text
    data: dict[str, Any] = resp.json()
    return data


def add_persona(server: ServerThread, pid: str, relationship: str) -> None:
    resp = admin(server, "POST", "/admin/personas", {"id": pid, "display_name": pid, "relationship": relationship})
    assert resp.status_code in (200, 201), resp.text


def events(server: ServerThread, kind: str, user: str | None = None) -> list[dict[str, Any]]:
    query = f"/audit/events?kind={kind}" + (f"&user={user}" if user else "")
    resp = admin(server, "GET", query, key=AUDITOR)
    assert resp.status_code == 200, resp.text
    data: list[dict[str, Any]] = resp.json()["data"]
    return data


def model_calls(stub: StubProvider) -> int:
    return len(stub.requests)


def client(server: ServerThread, key: str = KEY) -> openai.OpenAI:
    return sdk(server, key)
