"""Shared pieces of the end-to-end tests of issue 13 (part a): a running proxy with a virtual clock over
the shipped packs (CN final, draft-strict, NY, CA) plus a CN variant that serves anonymous requests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.clockproxy import VirtualClock, running_proxy, sdk
from tests.stubs import ServerThread, StubProvider
from tests.vulnerable_support import ADMIN, AUDITOR, admin, events, set_profile

__all__ = ["ADMIN", "AUDITOR", "admin", "events", "set_profile"]

KEYS = {"cn": "sk-gaps-cn", "strict": "sk-gaps-strict", "ny": "sk-gaps-ny", "ca": "sk-gaps-ca",
        "allow": "sk-gaps-allow"}
POLICIES = {"cn": "cn-anthropomorphic-2026", "strict": "cn-anthropomorphic-draft-strict", "ny": "us-ny-art47",
            "ca": "us-ca-sb243", "allow": "test-anonymous-allowed"}
ALLOW = """
id: test-anonymous-allowed
extends: cn-anthropomorphic-2026
title: the CN pack, serving requests that name no end user
identity: {anonymous: allow, cites: [ANTH-TIME-1]}
"""


@pytest.fixture
def gaps(tmp_path: Path, stub: StubProvider) -> Iterator[tuple[ServerThread, VirtualClock]]:
    config = {
        "models": [{"name": "companion", "target": "openai/stub-model",
                    "api_base": f"{stub.url}/v1", "api_key_env": "STUB_KEY"}],  # type: ignore[attr-defined]
        "apps": [{"id": app, "key_env": f"APP_{app.upper()}", "policy": POLICIES[app]} for app in KEYS],
    }
    env = {"STUB_KEY": "sk-stub", "CANDOR_ADMIN_KEY": ADMIN, "CANDOR_AUDITOR_KEY": AUDITOR,
           **{f"APP_{app.upper()}": key for app, key in KEYS.items()}}
    with running_proxy(tmp_path, config, {"test-anonymous-allowed": ALLOW}, env=env) as running:
        yield running


def client(server: ServerThread, app: str) -> openai.OpenAI:
    return sdk(server, KEYS[app])


def chat(cl: openai.OpenAI, messages: list[dict[str, Any]], stream: bool, user: str | None = None,
         **kwargs: Any) -> tuple[str | None, dict[str, Any], Any]:
    """(content as the client assembled it, compliance, the message or the chunks)."""
    headers = {"X-Candor-User": user} if user else {}
    headers.update(kwargs.pop("headers", {}))
    if not stream:
        reply = cl.chat.completions.create(model="companion", messages=messages,  # type: ignore[arg-type]
                                           extra_headers=headers, **kwargs)
        return reply.choices[0].message.content, (reply.model_extra or {})["compliance"], reply.choices[0].message
    chunks = list(cl.chat.completions.create(model="companion", messages=messages,  # type: ignore[arg-type]
                                             extra_headers=headers, stream=True, **kwargs))
    first = (chunks[0].model_extra or {})["compliance"]
    last = (chunks[-1].model_extra or {})["compliance"]
    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    text = "".join(pieces) if pieces else None
    return text, {**last, "notices": first["notices"], "label": first["label"]}, chunks


def say(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def kinds(comp: dict[str, Any]) -> list[str]:
    return [n["kind"] for n in comp["notices"]]


def decisions(server: ServerThread, event_id: str, kind: str = "exchange") -> list[dict[str, Any]]:
    (event,) = [e for e in events(server, kind) if e["event_id"] == event_id]
    found: list[dict[str, Any]] = event["decisions"]
    return found
