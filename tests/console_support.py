"""Shared pieces of the console tests: a running proxy (virtual clock, provider stub over HTTP, a real
webhook receiver for crisis alerts) and real traffic made through it with the openai SDK, with the
figures that traffic must produce. This module holds no tests itself."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import openai

from tests import web
from tests.clockproxy import VirtualClock, running_proxy, sdk
from tests.stubs import ServerThread, StubProvider

APP_KEY = "sk-console-app"
STRICT_KEY = "sk-console-strict"   # the draft-strict pack: a crisis hands the session over to a person
ADMIN = "admin-key-console"
AUDITOR = "auditor-key-console"
SECRET = "whsec-console-0123456789"
EVIDENCE = "ab" * 32
REMINDER_USER = "rem-user"
CRISIS_USER = "crisis-user"
PERSONA = "grandma-li"


@dataclass
class World:
    server: ServerThread
    clock: VirtualClock
    expected: dict[str, Any] = field(default_factory=dict)
    consent_id: str = ""
    crisis_event_id: str = ""
    reminder_event_id: str = ""
    notices_seen: dict[str, int] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, key: str = APP_KEY) -> openai.OpenAI:
        return sdk(self.server, key)

    def chat(self, user: str, text: str = "你好", key: str = APP_KEY, **headers: str) -> Any:
        reply = self.client(key).chat.completions.create(
            model="companion", messages=[{"role": "user", "content": text}],
            extra_headers={"X-Candor-User": user, **headers})
        for kind in _kinds(reply):   # what the client was told, counted for the notices chart
            self.notices_seen[kind] = self.notices_seen.get(kind, 0) + 1
        return reply

    def api(self, method: str, path: str, body: Any = None, key: str = ADMIN) -> httpx.Response:
        return web.request(method, self.url + path, json=body, headers={"authorization": f"Bearer {key}"},
                           timeout=10)

    def events(self, kind: str) -> list[dict[str, Any]]:
        resp = self.api("GET", f"/audit/events?kind={kind}&limit=1000", key=AUDITOR)
        assert resp.status_code == 200, resp.text
        data: list[dict[str, Any]] = resp.json()["data"]
        return data


def wait_for(predicate: Callable[[], bool], limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _kinds(reply: Any) -> list[str]:
    return [n["kind"] for n in (reply.model_extra or {})["compliance"]["notices"]]


@contextmanager
def console_world(tmp: Path, stub: StubProvider, webhook_url: str | None) -> Iterator[World]:
    cfg: dict[str, Any] = {
        "models": [{"name": "companion", "target": "openai/stub-model", "api_base": f"{stub.url}/v1",  # type: ignore[attr-defined]
                    "api_key_env": "STUB_KEY"}],
        "apps": [{"id": "console-app", "key_env": "APP_CONSOLE", "policy": "cn-anthropomorphic-2026"},
                 {"id": "strict-app", "key_env": "APP_STRICT", "policy": "cn-anthropomorphic-draft-strict"}],
    }
    if webhook_url:
        cfg["alerts"] = {"webhook_url": webhook_url, "poll_interval": 0.1, "retry_initial": 0.2, "timeout": 2.0}
    env = {"STUB_KEY": "sk-stub", "APP_CONSOLE": APP_KEY, "APP_STRICT": STRICT_KEY, "CANDOR_ADMIN_KEY": ADMIN,
           "CANDOR_AUDITOR_KEY": AUDITOR, "CANDOR_WEBHOOK_SECRET": SECRET}
    with running_proxy(tmp, cfg, env=env) as (server, clock):
        yield World(server, clock)


def make_traffic(w: World, alerts_delivered: bool) -> None:
    """Real traffic through the proxy, and the figures the console must show for it in ``w.expected``."""
    assert w.api("PUT", f"/admin/users/{CRISIS_USER}", {"age_band": "adult", "emergency_contact": "120"}
                 ).status_code == 200
    resp = w.api("POST", "/admin/personas", {"id": PERSONA, "display_name": "Grandma Li", "relationship": "relative",
                                             "likeness": {"subject_id": "li-hua", "kinds": ["face", "voice"]}})
    assert resp.status_code == 201, resp.text
    resp = w.api("POST", "/admin/consents", {"subject_id": "li-hua", "granted_by": "subject",
                                             "scopes": ["face", "voice"], "purpose": "companion likeness",
                                             "evidence_sha256": EVIDENCE})
    assert resp.status_code == 201, resp.text
    w.consent_id = resp.json()["id"]
    assert "digital_human" in _kinds(w.chat("grandchild", "奶奶，我想你了", **{"X-Candor-Persona": PERSONA}))
    crisis = w.chat(CRISIS_USER, "我不想活了，活着没有任何意义")
    comp = (crisis.model_extra or {})["compliance"]
    assert comp["crisis"]["level"] == "explicit_intent" and comp["crisis"]["alerted"] is True
    w.crisis_event_id = comp["event_id"]
    try:
        w.client().chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "hi"}],
                                           extra_headers={"X-Candor-User": "lost-user"})
        raise AssertionError("an unknown model must be refused")
    except openai.NotFoundError as exc:
        assert exc.code == "model_not_found"
    delegated = w.chat("ui-user", "你好", **{"X-Candor-Client-Renders": "labels"})
    assert "label_delegated" in (delegated.model_extra or {})["compliance"]["actions"]
    reminders = []
    for i in range(7):   # one message every 20 minutes: at 2 hours the usage reminder is due (ANTH-TIME-1)
        if i:
            w.clock.advance(20 * 60)
        reply = w.chat(REMINDER_USER, f"第{i}条消息")
        if "usage_reminder" in _kinds(reply):
            reminders.append(i)
            w.reminder_event_id = (reply.model_extra or {})["compliance"]["event_id"]
    assert reminders == [6], reminders
    if alerts_delivered:
        wait_for(lambda: any(e["decisions"][0]["outcome"] == "delivered" for e in w.events("alert_delivery")))
    w.expected = {
        "exchange": 1 + 1 + 1 + 7,   # persona, crisis, delegated labels, reminder user
        "refusal:model_not_found": 1,
        "notices": dict(w.notices_seen),
        "explicit_intent": 1, "self_harm": 1,
        "alerts": {"delivered": 1, "pending": 0, "gave_up": 0} if alerts_delivered else
                  {"delivered": 0, "pending": 1, "gave_up": 0},
        "persona_change:add": 1, "consent_change:add": 1,
        "delegated": 1,
    }
