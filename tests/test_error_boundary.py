"""One error boundary: a bug anywhere in a request ends like a refusal does (OpenAI error shape, an
``error`` audit event, the request's cleanups, a log line with the traceback), streaming and not."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import structlog

from adapters.upstream.demo import DemoUpstream
from middleware.likeness.enforce import LikenessGate
from middleware.rules.labels import LabelNotifier
from tests import web
from tests.clockproxy import running_proxy, sdk
from tests.stubs import ServerThread

APP, ADMIN, AUDITOR = "app-key-boundary", "admin-key-boundary", "auditor-key-boundary"


class Boom(RuntimeError):
    pass


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[ServerThread]:
    config = {"apps": [{"id": "boundary-app", "key_env": "BOUNDARY_APP_KEY"}],
              "models": [{"name": "candor-demo", "target": "candor/demo"}]}
    env = {"BOUNDARY_APP_KEY": APP, "CANDOR_ADMIN_KEY": ADMIN, "CANDOR_AUDITOR_KEY": AUDITOR}
    with running_proxy(tmp_path, config, env=env) as (server, _):
        yield server


@pytest.fixture
def watches(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts persona-watch subscriptions made and released (the resource a request must give back)."""
    live = {"subscribed": 0, "released": 0}
    subscribe, unsubscribe = LikenessGate.subscribe, LikenessGate.unsubscribe

    def counted_subscribe(self: LikenessGate, persona_id: str) -> Any:
        live["subscribed"] += 1
        return subscribe(self, persona_id)

    def counted_unsubscribe(self: LikenessGate, watch: Any) -> None:
        live["released"] += 1
        unsubscribe(self, watch)

    monkeypatch.setattr(LikenessGate, "subscribe", counted_subscribe)
    monkeypatch.setattr(LikenessGate, "unsubscribe", counted_unsubscribe)
    return live


def _register_likeness(server: ServerThread) -> None:
    admin = {"authorization": f"Bearer {ADMIN}"}
    r = web.post(server.url + "/admin/personas", headers=admin, timeout=10, json={
        "id": "grandma", "display_name": "Grandma", "relationship": "relative",
        "likeness": {"subject_id": "li-hua", "kinds": ["voice"], "deceased": False}})
    assert r.status_code == 201, r.text
    r = web.post(server.url + "/admin/consents", headers=admin, timeout=10, json={
        "subject_id": "li-hua", "granted_by": "subject", "scopes": ["voice"], "purpose": "companion",
        "evidence_sha256": hashlib.sha256(b"form").hexdigest()})
    assert r.status_code == 201, r.text


def _chat(server: ServerThread, stream: bool) -> openai.APIError:
    client = sdk(server, APP)
    with pytest.raises(openai.APIError) as caught:
        reply = client.chat.completions.create(
            model="candor-demo", stream=stream, messages=[{"role": "user", "content": "你好"}],
            extra_headers={"X-Candor-User": "u-1", "X-Candor-Persona": "grandma"})
        if stream:
            for _ in reply:
                pass
    return caught.value


def _error_events(server: ServerThread) -> list[dict[str, Any]]:
    r = web.get(server.url + "/audit/events", params={"kind": "error"},
                headers={"authorization": f"Bearer {AUDITOR}"}, timeout=10)
    assert r.status_code == 200, r.text
    data: list[dict[str, Any]] = r.json()["data"]
    return data


def _assert_ended_cleanly(server: ServerThread, err: openai.APIError, logs: list[dict[str, Any]],
                          watches: dict[str, int]) -> None:
    body = err.body if isinstance(err.body, dict) else {}
    body = body.get("error", body)
    assert body.get("code") == "internal_error" and body.get("type") == "api_error", err.body
    assert "Boom" not in str(err), "the exception's text never reaches the client"
    events = _error_events(server)
    assert events and events[-1]["status"] == 500
    crash = [e for e in logs if e.get("event") == "unhandled"]
    assert crash and isinstance(crash[-1].get("exc_info"), Boom), "the log line carries the traceback"
    assert watches["subscribed"] == 1 and watches["released"] == 1, watches


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_a_rule_that_raises_ends_in_a_500_with_event_log_and_cleanups(
        proxy: ServerThread, watches: dict[str, int], monkeypatch: pytest.MonkeyPatch, stream: bool) -> None:
    _register_likeness(proxy)

    def explode(self: LabelNotifier, ex: Any) -> None:
        raise Boom("a bug in a rule")

    monkeypatch.setattr(LabelNotifier, "before", explode)
    with structlog.testing.capture_logs() as logs:
        err = _chat(proxy, stream)
    assert isinstance(err, openai.InternalServerError)
    _assert_ended_cleanly(proxy, err, logs, watches)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_an_upstream_adapter_that_raises_mid_reply_ends_cleanly(
        proxy: ServerThread, watches: dict[str, int], monkeypatch: pytest.MonkeyPatch, stream: bool) -> None:
    _register_likeness(proxy)
    original = DemoUpstream.chat

    async def explode_after_first(self: DemoUpstream, request: Any) -> Any:
        async for item in original(self, request):
            yield item
            raise Boom("a bug in an adapter")

    monkeypatch.setattr(DemoUpstream, "chat", explode_after_first)
    with structlog.testing.capture_logs() as logs:
        err = _chat(proxy, stream)
    _assert_ended_cleanly(proxy, err, logs, watches)
    # the proxy is still up and answers the next request
    monkeypatch.setattr(DemoUpstream, "chat", original)
    reply = sdk(proxy, APP).chat.completions.create(model="candor-demo", extra_headers={"X-Candor-User": "u-2"},
                                                    messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content


def test_a_bug_in_an_admin_route_is_answered_and_recorded(proxy: ServerThread,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from middleware.likeness import api

    async def explode(*args: Any, **kwargs: Any) -> Any:
        raise Boom("a bug in the admin API")

    monkeypatch.setattr(api.LikenessService, "list_personas", explode)
    with structlog.testing.capture_logs() as logs:
        r = web.get(proxy.url + "/admin/personas", headers={"authorization": f"Bearer {ADMIN}"}, timeout=10)
    assert r.status_code == 500 and r.json()["error"]["code"] == "internal_error"
    assert any(isinstance(e.get("exc_info"), Boom) for e in logs)
    assert any(e["decisions"][0]["detail"]["path"] == "/admin/personas" for e in _error_events(proxy)
               if e["decisions"])
