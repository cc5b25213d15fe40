"""An operator's "retry now" (the console's alerts page): an undelivered alert becomes due at once, a
failed one gets one more attempt, a delivered or leased one is left alone. SQLite and PostgreSQL."""

from __future__ import annotations

from middleware.alerts.models import Alert
from tests.test_alerts_support import OutboxFactory

pytest_plugins = ["tests.test_alerts_support"]

NOW = 1_800_000_000.0


def crisis_alert(n: int) -> Alert:
    return Alert(id=f"alr_retry_{n}", kind="crisis", event_id=f"evt-{n}")


async def test_retry_now_makes_an_undelivered_alert_due(new_outbox_store: OutboxFactory) -> None:
    store = await new_outbox_store()
    try:
        for n in (1, 2, 3):
            alert = crisis_alert(n)
            assert await store.insert(alert, alert.body(), NOW + 3600)    # next attempt in an hour
        assert await store.claim(NOW, 10, NOW + 60, "w") == []
        assert await store.retry_now("alr_retry_1", NOW) is True
        assert await store.next_due() == NOW
        (claimed,) = await store.claim(NOW, 10, NOW + 60, "w")
        assert claimed.alert.id == "alr_retry_1"
        assert await store.retry_now("alr_retry_1", NOW) is False           # leased: being attempted now
        assert await store.finish("alr_retry_1", "w", status="delivered", attempts=1, at=NOW, http_status=200,
                                  error=None, next_attempt_at=None)
        assert await store.retry_now("alr_retry_1", NOW + 1) is False       # delivered: nothing to retry
        assert await store.retry_now("no-such-alert", NOW) is False
        # a failed alert is pending again for one more attempt
        await store.retry_now("alr_retry_3", NOW)
        assert [e.alert.id for e in await store.claim(NOW, 10, NOW + 60, "w")] == ["alr_retry_3"]
        await store.finish("alr_retry_3", "w", status="failed", attempts=5, at=NOW, http_status=500, error="down",
                           next_attempt_at=None)
        assert (await store.get("alr_retry_3")).status == "failed"  # type: ignore[union-attr]
        assert await store.retry_now("alr_retry_3", NOW + 5) is True
        entry = await store.get("alr_retry_3")
        assert entry is not None and entry.status == "pending" and entry.next_attempt_at == NOW + 5
        assert entry.attempts == 5                                          # the count carries on
    finally:
        await store.close()
