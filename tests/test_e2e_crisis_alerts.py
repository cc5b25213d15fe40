"""End-to-end (openai SDK, running proxy, webhook receiver): a property loss gets its own reply and
resources (issue 13 item 8); alerts say whom they concern and whether a contact is on file, and
``compliance.crisis.alerted`` is true only when a webhook will hear of it (item 9). Streaming and not."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.clockproxy import running_proxy
from tests.proxy import ProxyProcess
from tests.stubs import Script, StubProvider
from tests.test_alerts_support import SECRET, Receiver
from tests.vulnerable_support import (
    AUGMENT,
    ENV,
    STRICT_KEY,
    admin,
    ask,
    client,
    events,
    model_calls,
    proxy,
    proxy_config,
    set_profile,
)

pytest_plugins = ["tests.test_alerts_support"]   # the webhook receiver fixture
__all__ = ["proxy"]


def wait_for(predicate: Any, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.parametrize("stream", [False, True])
def test_property_loss_gets_police_and_anti_fraud_lines_not_the_suicide_script(proxy: Any, stub: StubProvider,
                                                                               stream: bool) -> None:
    server, _ = proxy
    user = f"fang-{stream}"
    stub.push(Script(text="钱没了还能再挣嘛。"))
    text, comp, _ = ask(client(server), "我被骗了二十万，全部积蓄都没了", user, stream)
    assert model_calls(stub) == 0
    crisis = comp["crisis"]
    assert crisis["level"] == "explicit_intent" and crisis["category"] == "property_loss"
    assert [r["contact"] for r in crisis["resources"]] == ["110", "96110"]
    assert "96110" in text and "110" in text and "400-161-9995" not in text and "钱没了还能再挣" not in text
    (event,) = [e for e in events(server, "crisis", user) if e["event_id"] == comp["event_id"]]
    detail = next(d["detail"] for d in event["decisions"] if d["rule"] == "crisis")
    assert detail["category"] == "property_loss"


@pytest.mark.parametrize("stream", [False, True])
def test_self_harm_keeps_the_suicide_script_and_names_its_category(proxy: Any, stub: StubProvider,
                                                                   stream: bool) -> None:
    server, _ = proxy
    text, comp, _ = ask(client(server), "我不想活了，活着没有任何意义", f"sh-{stream}", stream)
    assert comp["crisis"]["category"] == "self_harm" and "400-161-9995" in text and "96110" not in text


@pytest.mark.parametrize("stream", [False, True])
def test_property_loss_is_not_handed_over_in_draft_strict(proxy: Any, stub: StubProvider, stream: bool) -> None:
    server, _ = proxy
    strict = client(server, STRICT_KEY)
    _, comp, _ = ask(strict, "I just lost my life savings to a scammer", f"loss-{stream}", stream)
    assert comp["crisis"]["category"] == "property_loss" and comp["crisis"]["handover"] is False
    stub.push(Script(text="I'm here."))
    text, comp, _ = ask(strict, "are you still there?", f"loss-{stream}", stream)
    assert model_calls(stub) == 1 and "handover_active" not in comp["actions"] and "I'm here." in text


@pytest.mark.parametrize("stream", [False, True])
def test_without_a_webhook_the_reply_says_not_alerted_and_the_alert_waits(proxy: Any, stub: StubProvider,
                                                                          stream: bool) -> None:
    server, _ = proxy
    user = f"nohook-{stream}"
    set_profile(server, user, age_band="adult", emergency_contact="120")
    _, comp, _ = ask(client(server), "我已经把安眠药都准备好了", user, stream)
    assert comp["crisis"]["alerted"] is False
    pending = admin(server, "GET", "/admin/alerts?status=pending").json()["data"]
    (alert,) = [a for a in pending if a["event_id"] == comp["event_id"]]
    assert alert["user_id"] == user and alert["contacts_on_file"] is True


def test_alerts_name_the_user_and_say_when_no_contact_is_on_file(tmp_path: Path, stub: StubProvider,
                                                                 receiver: Receiver) -> None:
    cfg = proxy_config(stub, alerts={"webhook_url": receiver.url, "poll_interval": 0.1, "timeout": 2.0})
    env = {**ENV, "CANDOR_WEBHOOK_SECRET": SECRET.decode()}
    with running_proxy(tmp_path, cfg, {"test-augment": AUGMENT}, env=env) as (server, _):
        set_profile(server, "kim", age_band="adult")                       # no guardian, no emergency contact
        set_profile(server, "lin", age_band="adult", guardian_contact="dad +86 139")
        for stream, user in ((False, "kim"), (True, "lin")):
            _, comp, _ = ask(client(server), "我已经把安眠药都准备好了", user, stream)
            assert comp["crisis"]["alerted"] is True
        wait_for(lambda: receiver.count() >= 2)
    bodies = {b["user_id"]: b for b in (json.loads(r.body) for r in receiver.received)}
    kim, lin = bodies["kim"], bodies["lin"]
    assert kim["contacts_on_file"] is False and "no guardian or emergency contact" in kim["detail"]["note"]
    assert kim["user_ref"] and kim["user_ref"] != "kim" and kim["app_id"] == "cn"
    assert lin["contacts_on_file"] is True and lin["guardian_contact"] == "dad +86 139" and "note" not in lin["detail"]


def test_include_user_id_false_keeps_the_raw_id_out(tmp_path: Path, stub: StubProvider, receiver: Receiver) -> None:
    cfg = proxy_config(stub, alerts={"webhook_url": receiver.url, "poll_interval": 0.1, "timeout": 2.0,
                                     "include_user_id": False})
    env = {**ENV, "CANDOR_WEBHOOK_SECRET": SECRET.decode()}
    with running_proxy(tmp_path, cfg, {"test-augment": AUGMENT}, env=env) as (server, _):
        _, comp, _ = ask(client(server), "我已经把安眠药都准备好了", "moe", False)
        assert comp["crisis"]["alerted"] is True
        wait_for(lambda: receiver.count() >= 1)
    body = json.loads(receiver.received[-1].body)
    assert body["user_id"] is None and body["user_ref"] and "moe" not in receiver.received[-1].body.decode()


def test_the_server_warns_at_start_up_when_no_webhook_is_configured(tmp_path: Path, stub: StubProvider) -> None:
    cfg = {**proxy_config(stub), "apps": [{"id": "cn", "key_env": "APP_CN", "policy": "cn-anthropomorphic-2026"}],
           "audit": {"url": f"sqlite:///{tmp_path}/audit.db"}}
    with ProxyProcess(tmp_path, cfg, {**ENV}) as proc:
        wait_for(lambda: "alerts_no_webhook" in proc.log())
    assert "alerts.webhook_url is not set" in proc.log()
