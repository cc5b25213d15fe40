"""The outbox store contract, run unchanged against SQLite and a real PostgreSQL."""

from __future__ import annotations

import time

from middleware.alerts.models import Alert
from middleware.alerts.store import OutboxStore
from tests.test_alerts_support import OutboxFactory

pytest_plugins = ["tests.test_alerts_support"]  # the shared store and receiver fixtures

NOW = time.time()


def alert(n: int = 1, **kw: object) -> Alert:
    return Alert.model_validate({"id": f"alr_{n}", "kind": "crisis", "user_ref": "u_ref", "level": "explicit_intent",
                                 "guardian_contact": "mum", "event_id": f"evt_{n}", "detail": {"n": n}, **kw})


async def test_inserted_alert_is_there_for_a_new_process(new_outbox_store: OutboxFactory) -> None:
    a = await new_outbox_store()
    x = alert()
    assert await a.insert(x, x.body(), NOW) is True
    await a.close()  # a restart: nothing was held only in memory
    b = await new_outbox_store()
    got = await b.get("alr_1")
    assert got is not None and got.alert == x and got.body == x.body()
    assert (got.status, got.attempts) == ("pending", 0)
    assert got.next_attempt_at is not None and abs(got.next_attempt_at - NOW) < 1e-5


async def test_insert_is_idempotent_by_id(new_outbox_store: OutboxFactory) -> None:
    s = await new_outbox_store()
    x = alert()
    assert await s.insert(x, x.body(), NOW) is True
    assert await s.insert(x, x.body(), NOW) is False
    assert len(await s.list_entries(None, 10)) == 1


async def test_claim_leases_due_alerts_once(new_outbox_store: OutboxFactory) -> None:
    a, b = await new_outbox_store(), await new_outbox_store()
    for n in (1, 2, 3):
        x = alert(n)
        await a.insert(x, x.body(), NOW + (100 if n == 3 else 0))  # alert 3 is not due yet
    got_a = await a.claim(NOW, 10, NOW + 60, "A")
    got_b = await b.claim(NOW, 10, NOW + 60, "B")  # another process: the leased alerts are not its to take
    assert sorted(e.alert.id for e in got_a) == ["alr_1", "alr_2"] and got_b == []
    # a lease that ran out is taken over
    assert sorted(e.alert.id for e in await b.claim(NOW + 61, 10, NOW + 120, "B")) == ["alr_1", "alr_2"]


async def test_finish_needs_the_lease_and_records_the_outcome(new_outbox_store: OutboxFactory) -> None:
    s = await new_outbox_store()
    x = alert()
    await s.insert(x, x.body(), NOW)
    await s.claim(NOW, 10, NOW + 60, "A")
    assert await s.finish("alr_1", "B", status="delivered", attempts=1, at=NOW, http_status=200, error=None,
                          next_attempt_at=None) is False
    assert await s.finish("alr_1", "A", status="pending", attempts=1, at=NOW + 1, http_status=503,
                          error="HTTP 503", next_attempt_at=NOW + 5) is True
    got = await s.get("alr_1")
    assert got is not None
    assert (got.status, got.attempts, got.last_status, got.last_error) == ("pending", 1, 503, "HTTP 503")
    assert abs((got.next_attempt_at or 0) - (NOW + 5)) < 1e-5
    assert await s.claim(NOW + 2, 10, NOW + 60, "A") == []  # not due again yet
    assert [e.alert.id for e in await s.claim(NOW + 5, 10, NOW + 60, "A")] == ["alr_1"]
    await s.finish("alr_1", "A", status="delivered", attempts=2, at=NOW + 6, http_status=204, error=None,
                   next_attempt_at=None)
    done = await s.get("alr_1")
    assert done is not None and done.status == "delivered" and done.delivered_at is not None
    assert await s.claim(NOW + 100, 10, NOW + 160, "A") == []


async def test_release_frees_leases_at_once(new_outbox_store: OutboxFactory) -> None:
    s = await new_outbox_store()
    x = alert()
    await s.insert(x, x.body(), NOW)
    await s.claim(NOW, 10, NOW + 60, "A")
    assert await s.claim(NOW, 10, NOW + 60, "B") == []
    await s.release("A")
    assert len(await s.claim(NOW, 10, NOW + 60, "B")) == 1


async def test_next_due_accounts_for_leases(new_outbox_store: OutboxFactory) -> None:
    s = await new_outbox_store()
    assert await s.next_due() is None
    x = alert()
    await s.insert(x, x.body(), NOW + 3)
    assert abs((await s.next_due() or 0) - (NOW + 3)) < 1e-5
    await s.claim(NOW + 3, 10, NOW + 30, "A")
    assert abs((await s.next_due() or 0) - (NOW + 30)) < 1e-5


async def test_list_filters_by_status_newest_first(new_outbox_store: OutboxFactory) -> None:
    s: OutboxStore = await new_outbox_store()
    for n in (1, 2, 3):
        x = alert(n, created_at=f"2026-03-0{n}T00:00:00Z")
        await s.insert(x, x.body(), NOW)
    await s.claim(NOW, 1, NOW + 60, "A")
    await s.finish("alr_1", "A", status="failed", attempts=9, at=NOW, http_status=None, error="gone",
                   next_attempt_at=None)
    assert [e.alert.id for e in await s.list_entries("pending", 10)] == ["alr_3", "alr_2"]
    assert [e.alert.id for e in await s.list_entries("failed", 10)] == ["alr_1"]
    assert [e.alert.id for e in await s.list_entries(None, 2)] == ["alr_3", "alr_2"]


async def test_retry_now_makes_a_failed_alert_due_but_never_a_delivered_one(new_outbox_store: OutboxFactory) -> None:
    s = await new_outbox_store()
    x = alert()
    await s.insert(x, x.body(), NOW)
    await s.claim(NOW, 10, NOW + 60, "A")
    await s.finish("alr_1", "A", status="failed", attempts=9, at=NOW, http_status=500, error="gave up",
                   next_attempt_at=None)
    assert await s.claim(NOW + 100, 10, NOW + 160, "A") == []           # failed: never claimed
    assert await s.retry_now("alr_1", NOW + 100) is True
    assert [e.alert.id for e in await s.claim(NOW + 100, 10, NOW + 160, "A")] == ["alr_1"]
    await s.finish("alr_1", "A", status="delivered", attempts=10, at=NOW + 101, http_status=204, error=None,
                   next_attempt_at=None)
    assert await s.retry_now("alr_1", NOW + 200) is False
    assert await s.retry_now("no-such-alert", NOW) is False
