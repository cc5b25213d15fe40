"""examples/alert_receiver.py, run as a separate process, receives a real delivery and refuses forgeries."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from adapters.alerts.webhook import WebhookSender
from middleware.alerts.models import Alert
from middleware.alerts.outbox import AlertOutbox
from middleware.alerts.retry import RetryPolicy
from middleware.alerts.store import OutboxStore
from tests import web
from tests.stubs import free_port
from tests.test_alerts_support import SECRET, Attempts, OutboxFactory

pytest_plugins = ["tests.test_alerts_support"]  # the shared store fixtures
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "alert_receiver.py"


@pytest.fixture
def receiver_process() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    env = {**os.environ, "CANDOR_WEBHOOK_SECRET": SECRET.decode()}
    proc = subprocess.Popen([sys.executable, str(EXAMPLE), "--port", str(port)], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/alerts"
    deadline = time.monotonic() + 30
    while True:
        try:
            web.get(url, timeout=0.2)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("the example receiver did not start") from None
            time.sleep(0.05)
    yield url, proc
    proc.terminate()
    proc.wait(timeout=5)


async def test_example_receiver_accepts_a_signed_alert_and_refuses_forgeries(
        receiver_process: tuple[str, subprocess.Popen[str]], new_outbox_store: OutboxFactory) -> None:
    url, proc = receiver_process
    async with httpx.AsyncClient() as client:
        forged = await client.post(url, content=b'{"id": "x", "kind": "crisis"}', headers={
            "X-Candor-Timestamp": str(int(time.time())), "X-Candor-Signature": "sha256=00"})
    assert forged.status_code == 401
    store: OutboxStore = await new_outbox_store()
    attempts = Attempts()
    box = AlertOutbox(store, WebhookSender(url, lambda: SECRET), on_attempt=attempts, poll_interval=0.05,
                      retry=RetryPolicy(initial=0.05))
    await box.start()
    try:
        alert = await box.enqueue(Alert(kind="crisis", level="explicit_intent", guardian_contact="mum"))
        await attempts.wait_for(lambda items: bool(items) and items[-1].outcome == "delivered")
    finally:
        await box.close()
        assert box.sender is not None
        await box.sender.close()
    proc.terminate()
    out, err = proc.communicate(timeout=5)
    assert "ALERT crisis level=explicit_intent" in out and alert.id in out and "guardian=mum" in out
    assert "bad signature" in err
