"""Alert delivery end to end: a real webhook receiver on 127.0.0.1, the httpx sender, the outbox
on SQLite and PostgreSQL. Signatures are checked with an independent HMAC computation."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from pathlib import Path

import pytest

from adapters.alerts.webhook import WebhookSender
from adapters.wiring.alerts import build_alerts
from middleware.alerts.models import Alert
from middleware.alerts.outbox import AlertOutbox
from middleware.alerts.retry import RetryPolicy
from middleware.alerts.store import OutboxStore, SendResult
from middleware.config.deployment import CandorConfig
from tests.stubs import free_port
from tests.test_alerts_support import SECRET, Attempts, OutboxFactory, Received, Receiver

pytest_plugins = ["tests.test_alerts_support"]  # the shared store and receiver fixtures

FAST = RetryPolicy(initial=0.05, maximum=0.4, multiplier=2.0, jitter=0.2, give_up_after=60)


def crisis_alert() -> Alert:
    return Alert(kind="crisis", app_id="demo-app", user_ref="ur_3f9a", session_id="s-1", persona_id="lin",
                 level="explicit_intent", guardian_contact="mum +86 138", emergency_contact="120",
                 event_id="evt_123", detail={"policy": "cn-anthropomorphic-2026"})


def outbox(store: OutboxStore, url: str, attempts: Attempts | None = None,
           retry: RetryPolicy = FAST) -> AlertOutbox:
    sender = WebhookSender(url, lambda: SECRET, timeout=2.0)
    return AlertOutbox(store, sender, retry=retry, on_attempt=attempts, poll_interval=0.05, lease=10)


async def stop(box: AlertOutbox) -> None:
    await box.close()
    assert box.sender is not None
    await box.sender.close()


def assert_signed(request: Received) -> None:
    """Recompute the signature from the scheme's description, not with Candor's own code."""
    ts = request.headers["x-candor-timestamp"]
    expected = hmac.new(SECRET, ts.encode() + b"." + request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-candor-signature"] == f"sha256={expected}"
    assert abs(int(ts) - time.time()) < 30
    assert request.headers["content-type"] == "application/json"


async def test_delivered_after_three_failures_and_a_restart(new_outbox_store: OutboxFactory,
                                                            receiver: Receiver) -> None:
    receiver.script(500, 503, 502)
    attempts = Attempts()
    first = outbox(await new_outbox_store(), receiver.url, attempts)
    await first.start()
    alert = await first.enqueue(crisis_alert())
    await attempts.wait_for(lambda items: len(items) == 2)
    await stop(first)  # the proxy goes down between the second and the third attempt
    await first.store.close()
    assert receiver.count() == 2

    second = outbox(await new_outbox_store(), receiver.url, attempts)  # a new process, same database
    await second.start()
    try:
        await attempts.wait_for(lambda items: items[-1].outcome == "delivered")
    finally:
        await stop(second)

    assert [a.number for a in attempts.items] == [1, 2, 3, 4]
    assert [a.outcome for a in attempts.items] == ["retry", "retry", "retry", "delivered"]
    assert [a.http_status for a in attempts.items] == [500, 503, 502, 200]
    assert all(a.alert_id == alert.id and a.event_id == "evt_123" and a.kind == "crisis" for a in attempts.items)
    assert attempts.items[0].next_attempt_at is not None and attempts.items[-1].next_attempt_at is None
    assert receiver.count() == 4
    for n, request in enumerate(receiver.received, start=1):
        assert_signed(request)
        assert request.headers["x-candor-alert-id"] == alert.id
        assert request.headers["x-candor-delivery-attempt"] == str(n)
        assert request.body == receiver.received[0].body  # every retry sends the same bytes
    body = json.loads(receiver.received[-1].body)
    assert body["object"] == "candor.alert" and body["id"] == alert.id and body["kind"] == "crisis"
    assert body["guardian_contact"] == "mum +86 138" and body["emergency_contact"] == "120"
    assert body["event_id"] == "evt_123" and body["user_ref"] == "ur_3f9a"
    entry = await second.store.get(alert.id)
    assert entry is not None and (entry.status, entry.attempts, entry.last_status) == ("delivered", 4, 200)


async def test_retries_back_off_exponentially(new_outbox_store: OutboxFactory, receiver: Receiver) -> None:
    receiver.script(500, 500, 500, 500)
    attempts = Attempts()
    box = outbox(await new_outbox_store(), receiver.url, attempts,
                 RetryPolicy(initial=0.15, maximum=5.0, multiplier=2.0, jitter=0.0, give_up_after=60))
    await box.start()
    try:
        await box.enqueue(crisis_alert())
        await attempts.wait_for(lambda items: len(items) == 5)
    finally:
        await stop(box)
    times = [r.at for r in receiver.received]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # never sooner than the back-off; later only by scheduling delay (another test process may share the
    # cores), and the bounds still tell doubling from a constant delay: the first gap's ceiling (0.65 s) is
    # below the last gap's floor (1.08 s)
    for gap, expected in zip(gaps, (0.15, 0.3, 0.6, 1.2), strict=True):
        assert expected * 0.9 <= gap <= expected + 0.5, (gaps, expected)


def test_backoff_policy_grows_caps_and_jitters() -> None:
    import random

    policy = RetryPolicy(initial=1, maximum=60, multiplier=2, jitter=0.25, give_up_after=3600)
    assert [policy.base_delay(n) for n in (1, 2, 3, 4, 7, 8, 1000)] == [1, 2, 4, 8, 60, 60, 60]
    rng = random.Random(7)
    delays = [policy.delay(3, rng) for _ in range(2000)]
    assert 3.0 <= min(delays) < 3.1 and 4.9 < max(delays) <= 5.0  # 4 s spread by +/- 25 %
    assert len({round(d, 6) for d in delays}) > 1000  # not one value
    with pytest.raises(ValueError):
        RetryPolicy(initial=0)


async def test_gives_up_after_the_configured_time_and_keeps_the_alert(new_outbox_store: OutboxFactory,
                                                                       receiver: Receiver) -> None:
    receiver.script(*([500] * 100))
    attempts = Attempts()
    box = outbox(await new_outbox_store(), receiver.url, attempts,
                 RetryPolicy(initial=0.02, maximum=0.05, jitter=0.0, give_up_after=0.2))
    await box.start()
    try:
        alert = await box.enqueue(crisis_alert())
        await attempts.wait_for(lambda items: items[-1].outcome == "gave_up" if items else False)
        seen = receiver.count()
        await asyncio.sleep(0.2)
        assert receiver.count() == seen  # no more attempts
        failed = await box.list("failed")
        assert [e.alert.id for e in failed] == [alert.id] and failed[0].last_status == 500
    finally:
        await stop(box)


async def test_unreachable_webhook_is_a_reported_attempt(new_outbox_store: OutboxFactory) -> None:
    attempts = Attempts()
    box = outbox(await new_outbox_store(), f"http://127.0.0.1:{free_port()}/hook", attempts)
    await box.start()
    try:
        await box.enqueue(crisis_alert())
        await attempts.wait_for(lambda items: len(items) >= 2)
    finally:
        await stop(box)
    first = attempts.items[0]
    assert first.outcome == "retry" and first.http_status is None and "ConnectError" in (first.error or "")


async def test_a_crashed_process_lease_expires_and_another_delivers(new_outbox_store: OutboxFactory,
                                                                    receiver: Receiver) -> None:
    store = await new_outbox_store()
    x = crisis_alert()
    await store.insert(x, x.body(), time.time())
    lease_ends = time.monotonic() + 0.3   # the receiver stamps with the monotonic clock
    await store.claim(time.time(), 10, time.time() + 0.3, "crashed-process")  # and never finishes
    attempts = Attempts()
    box = outbox(await new_outbox_store(), receiver.url, attempts)
    await box.start()
    try:
        await attempts.wait_for(lambda items: bool(items) and items[-1].outcome == "delivered")
    finally:
        await stop(box)
    # delivered once, and not before the crashed process's lease ran out (measured from the claim, not from the
    # second process's start: on a loaded machine setting it up can take most of the lease)
    assert receiver.count() == 1 and receiver.received[0].at >= lease_ends - 0.02


async def test_replicas_never_send_one_alert_twice(new_outbox_store: OutboxFactory, receiver: Receiver) -> None:
    boxes = [outbox(await new_outbox_store(), receiver.url) for _ in range(3)]
    for box in boxes:
        await box.start()
    try:
        ids = [(await boxes[n % 3].enqueue(crisis_alert())).id for n in range(12)]
        async with asyncio.timeout(30):
            while receiver.count() < 12:  # noqa: ASYNC110 (the receiver runs in another thread)
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
    finally:
        for box in boxes:
            await stop(box)
    sent = [r.headers["x-candor-alert-id"] for r in receiver.received]
    assert sorted(sent) == sorted(ids)


async def test_without_a_webhook_alerts_stay_pending(new_outbox_store: OutboxFactory) -> None:
    box = AlertOutbox(await new_outbox_store(), None)
    await box.start()
    alert = await box.enqueue(crisis_alert())
    assert not box.delivering and await box.deliver_due() == 0
    pending = await box.list("pending")
    assert [e.alert.id for e in pending] == [alert.id] and pending[0].attempts == 0
    await box.close()


async def test_a_failing_audit_hook_does_not_stop_delivery(new_outbox_store: OutboxFactory,
                                                           receiver: Receiver) -> None:
    async def broken(_: object) -> None:
        raise OSError("audit store down")

    box = outbox(await new_outbox_store(), receiver.url)
    box.on_attempt = broken
    await box.start()
    try:
        alert = await box.enqueue(crisis_alert())
        async with asyncio.timeout(30):
            while (entry := await box.get(alert.id)) is None or entry.status != "delivered":  # noqa: ASYNC110
                await asyncio.sleep(0.01)
    finally:
        await stop(box)


async def test_factory_from_config_delivers_and_refuses_an_unsigned_webhook(
        tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = CandorConfig.model_validate({
        "audit": {"url": f"sqlite:///{tmp_path}/audit.db"},
        "alerts": {"webhook_url": receiver.url, "retry_initial": "20ms", "poll_interval": "50ms"}})
    monkeypatch.delenv("CANDOR_WEBHOOK_SECRET", raising=False)
    with pytest.raises(ValueError, match="CANDOR_WEBHOOK_SECRET"):
        await build_alerts(cfg)
    monkeypatch.setenv("CANDOR_WEBHOOK_SECRET", SECRET.decode())
    receiver.script(500)
    attempts = Attempts()
    runtime = await build_alerts(cfg, on_attempt=attempts)
    try:
        await runtime.outbox.enqueue(crisis_alert())
        await attempts.wait_for(lambda items: bool(items) and items[-1].outcome == "delivered")
    finally:
        await runtime.close()
    assert len(attempts.items) == 2
    for request in receiver.received:
        assert_signed(request)


class _HangingSender:
    """A webhook that takes the request and never answers (until the process shuts down)."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()

    async def send(self, alert_id: str, body: bytes, attempt: int) -> SendResult:
        self.entered.set()
        await asyncio.Event().wait()
        raise AssertionError("never answered")

    async def close(self) -> None:
        return None


async def test_an_attempt_cut_short_by_a_shutdown_is_recorded_and_sent_again(new_outbox_store: OutboxFactory,
                                                                              receiver: Receiver) -> None:
    hanging, attempts = _HangingSender(), Attempts()
    first = AlertOutbox(await new_outbox_store(), hanging, retry=FAST, on_attempt=attempts, poll_interval=0.05,
                        lease=10)
    await first.start()
    await first.enqueue(crisis_alert())
    await asyncio.wait_for(hanging.entered.wait(), 10)
    await first.close()   # the proxy shuts down while the webhook has the request
    (cut,) = attempts.items
    assert (cut.outcome, cut.number, cut.http_status) == ("interrupted", 1, None) and "shutdown" in (cut.error or "")
    # not counted, lease released: the next process sends it at once, as attempt 1
    second = outbox(await new_outbox_store(), receiver.url, attempts)
    await second.start()
    try:
        await attempts.wait_for(lambda items: items[-1].outcome == "delivered")
    finally:
        await stop(second)
    assert [(a.outcome, a.number) for a in attempts.items] == [("interrupted", 1), ("delivered", 1)]
    assert receiver.count() == 1
