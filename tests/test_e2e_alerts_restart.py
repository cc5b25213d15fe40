"""End-to-end: a crisis alert raised through the proxy reaches a real webhook receiver that checks
the signature, after the webhook failed three times and the proxy was restarted in between; every
attempt is an ``alert_delivery`` audit event (ANTH-CRISIS-2, issue 7)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

from tests.clockproxy import running_proxy
from tests.stubs import StubProvider
from tests.test_alerts_support import SECRET, Receiver
from tests.vulnerable_support import AUGMENT, ENV, ask, client, events, proxy_config, set_profile

pytest_plugins = ["tests.test_alerts_support"]   # the webhook receiver fixture


def wait_for(predicate: Any, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_crisis_alert_is_delivered_after_three_webhook_failures_and_a_restart(tmp_path: Path, stub: StubProvider,
                                                                              receiver: Receiver) -> None:
    receiver.script(500, 503, 502)
    cfg = proxy_config(stub, alerts={"webhook_url": receiver.url, "retry_initial": 0.6, "retry_multiplier": 1.0,
                                     "retry_jitter": 0.0, "poll_interval": 0.1, "timeout": 2.0})
    env = {**ENV, "CANDOR_WEBHOOK_SECRET": SECRET.decode()}
    with running_proxy(tmp_path, cfg, {"test-augment": AUGMENT}, env=env) as (server, _):
        set_profile(server, "mei", age_band="minor", guardian_contact="mum +86 138", emergency_contact="120")
        _, comp, _ = ask(client(server), "我已经把安眠药都准备好了", "mei", stream=True)
        assert comp["crisis"]["alerted"] is True
        event_id = comp["event_id"]
        wait_for(lambda: receiver.count() == 2)
        # then the proxy goes down before the third attempt: once the second is over, i.e. recorded (a stop while
        # it is still in flight would be another test: that attempt would be sent again after the restart)
        wait_for(lambda: len(events(server, "alert_delivery")) == 2)
    assert receiver.count() == 2
    # a new process, same database
    with running_proxy(tmp_path, cfg, {"test-augment": AUGMENT}, env=env) as (server, _):
        wait_for(lambda: receiver.count() == 4)
        wait_for(lambda: len(events(server, "alert_delivery")) == 4)
        attempts = sorted(events(server, "alert_delivery"), key=lambda e: e["decisions"][0]["detail"]["attempt"])
    outcomes = [(e["decisions"][0]["detail"]["attempt"], e["decisions"][0]["outcome"],
                 e["decisions"][0]["detail"]["http_status"]) for e in attempts]
    assert outcomes == [(1, "retry", 500), (2, "retry", 503), (3, "retry", 502), (4, "delivered", 200)]
    assert all(e["decisions"][0]["detail"]["event_id"] == event_id for e in attempts)
    for n, request in enumerate(receiver.received, start=1):
        ts = request.headers["x-candor-timestamp"]
        expected = hmac.new(SECRET, ts.encode() + b"." + request.body, hashlib.sha256).hexdigest()
        assert request.headers["x-candor-signature"] == f"sha256={expected}"
        assert request.headers["x-candor-delivery-attempt"] == str(n)
        assert request.body == receiver.received[0].body
    body = json.loads(receiver.received[-1].body)
    assert body["kind"] == "crisis" and body["level"] == "explicit_intent" and body["event_id"] == event_id
    assert body["guardian_contact"] == "mum +86 138" and body["emergency_contact"] == "120"
    assert body["detail"]["minor"] is True and body["user_ref"] and body["user_ref"] != "mei"
    assert body["session_id"] == comp["session_id"] and body["app_id"] == "cn"
