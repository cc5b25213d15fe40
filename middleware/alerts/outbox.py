"""The alert outbox: an alert is written to the database before ``enqueue`` returns, then delivered
to the webhook by a background task that retries with backoff until a 2xx answer, across webhook
outages and proxy restarts.

- ``enqueue`` commits the alert (PostgreSQL commit, or SQLite WAL with ``synchronous=FULL``) and
  wakes the local delivery task; nothing is held only in memory;
- the delivery task claims due alerts under a lease (so replicas sharing the database do not send
  the same alert twice at once), POSTs each, and records the outcome: ``delivered`` on 2xx, else
  ``pending`` with the next attempt after an exponential, jittered wait, or ``failed`` once
  ``give_up_after`` has passed since the alert was created (failed alerts stay listed);
- a new process finds pending alerts in the table and carries on, counting attempts where the last
  process stopped; leases of a process that died expire after ``lease`` seconds;
- every attempt is reported through ``on_attempt`` (the lead writes it to the audit log), one cut short by a
  shutdown too (outcome ``interrupted``: not counted, the next process sends it again);
- without a sender (no webhook configured) alerts stay pending, listed by ``GET /admin/alerts``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import secrets
import socket
import time
from collections.abc import Awaitable, Callable

import structlog

from middleware.alerts.models import Alert, Attempt, OutboxEntry, Outcome, Status
from middleware.alerts.retry import RetryPolicy
from middleware.alerts.store import AlertSender, OutboxStore, SendResult

log = structlog.get_logger("candor.alerts")
OnAttempt = Callable[[Attempt], Awaitable[None]]
_OUTCOMES: dict[Status, Outcome] = {"delivered": "delivered", "pending": "retry", "failed": "gave_up"}
# how long a shutdown waits to record an attempt it interrupted (the audit log is still open: it closes after)
_INTERRUPTED_REPORT_S = 2.0


class AlertOutbox:
    def __init__(self, store: OutboxStore, sender: AlertSender | None, *, retry: RetryPolicy | None = None,
                 on_attempt: OnAttempt | None = None, poll_interval: float = 1.0, batch: int = 20,
                 lease: float = 60.0, clock: Callable[[], float] = time.time,
                 rng: random.Random | None = None) -> None:
        if poll_interval <= 0 or batch < 1 or lease <= 0:
            raise ValueError("poll_interval and lease must be positive, batch at least 1")
        self.store = store
        self.sender = sender
        self.retry = retry or RetryPolicy()
        self.on_attempt = on_attempt
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._poll = poll_interval
        self._batch = batch
        self._lease = lease  # longer than one send can take (the sender's timeout), or two may overlap
        self._clock = clock
        self._rng = rng or random.Random()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def webhook_configured(self) -> bool:
        """Alerts go somewhere: a webhook sender exists (they are delivered, or retried until they are)."""
        return self.sender is not None

    @property
    def delivering(self) -> bool:
        """A webhook is configured and the delivery task runs."""
        return self._task is not None and not self._task.done()

    # -- enqueue --------------------------------------------------------------------------------

    async def enqueue(self, alert: Alert) -> Alert:
        """Store ``alert`` durably (raises if the database refuses it), then wake delivery.
        Enqueueing an id that is already stored is a no-op, so a caller may safely retry."""
        if not await self.store.insert(alert, alert.body(), self._clock()):
            log.info("alert_already_enqueued", alert_id=alert.id)
        self._wake.set()
        return alert

    async def get(self, alert_id: str) -> OutboxEntry | None:
        return await self.store.get(alert_id)

    async def list(self, status: Status | None = "pending", limit: int = 100) -> list[OutboxEntry]:
        return await self.store.list_entries(status, limit)

    async def retry_now(self, alert_id: str) -> bool:
        """Attempt an undelivered alert at once (an operator's retry; a failed alert gets one more
        attempt). False when the alert is unknown, delivered, or being attempted right now."""
        if not await self.store.retry_now(alert_id, self._clock()):
            return False
        self._wake.set()
        return True

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start delivering (picks up alerts left pending by earlier processes at once)."""
        if self.sender is None:
            log.info("alerts_not_delivered", reason="no alerts.webhook_url: alerts stay in the outbox, "
                                                    "listed by GET /admin/alerts?status=pending")
            return
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="candor-alerts-delivery")

    async def close(self) -> None:
        """Stop delivering; an attempt in flight is abandoned (not counted) and its lease released,
        so the next process retries it at once."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            await self.store.release(self.owner)
        except Exception as exc:  # the leases expire by themselves
            log.warning("alerts_release_failed", error=repr(exc))

    # -- delivery -------------------------------------------------------------------------------

    async def deliver_due(self) -> int:
        """One pass: claim the alerts due now and attempt each once. Returns how many were attempted."""
        if self.sender is None:
            return 0
        now = self._clock()
        entries = await self.store.claim(now, self._batch, now + self._lease, self.owner)
        if entries:
            results = await asyncio.gather(*(self._attempt(e) for e in entries), return_exceptions=True)
            for entry, result in zip(entries, results, strict=True):
                if isinstance(result, asyncio.CancelledError):
                    raise result
                if isinstance(result, BaseException):
                    log.error("alert_attempt_failed", alert_id=entry.alert.id, error=repr(result))
        return len(entries)

    async def _attempt(self, entry: OutboxEntry) -> None:
        assert self.sender is not None
        alert = entry.alert
        number = entry.attempts + 1
        started = time.perf_counter()
        try:
            result = await self.sender.send(alert.id, entry.body, number)
        except asyncio.CancelledError:
            # shut down mid-send: the webhook may have had the request. The attempt is not counted (its lease is
            # released and the next process sends again, with the same number), but it is recorded, then the
            # cancellation goes on
            await self._report_interrupted(entry, number, started)
            raise
        except Exception as exc:  # a sender should not raise; count it as a failed attempt if it does
            result = SendResult(None, f"{type(exc).__name__}: {exc}", 0.0)
        at = self._clock()
        next_at: float | None = None
        if result.ok:
            status: Status = "delivered"
        elif at - alert.created_at.timestamp() >= self.retry.give_up_after:
            status = "failed"
            log.error("alert_undeliverable", alert_id=alert.id, kind=alert.kind, attempts=number)
        else:
            status = "pending"
            next_at = at + self.retry.delay(number, self._rng)
        error = None if result.ok else (result.error or f"HTTP {result.status}")
        held = await self.store.finish(alert.id, self.owner, status=status, attempts=number, at=at,
                                       http_status=result.status, error=error, next_attempt_at=next_at)
        if not held:
            log.warning("alert_lease_lost", alert_id=alert.id, attempt=number)
        await self._report(_attempt_of(alert, number, at, _OUTCOMES[status], result.status, error,
                                       result.duration_ms, next_at))

    async def _report_interrupted(self, entry: OutboxEntry, number: int, started: float) -> None:
        attempt = _attempt_of(entry.alert, number, self._clock(), "interrupted", None,
                              "shutdown during the attempt; sent again by the next process",
                              (time.perf_counter() - started) * 1000.0, None)
        log.warning("alert_attempt_interrupted", alert_id=entry.alert.id, attempt=number)
        # ``_report`` keeps a failing hook's error to itself; a hook that hangs is given up on
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            async with asyncio.timeout(_INTERRUPTED_REPORT_S):
                await self._report(attempt)

    async def _report(self, attempt: Attempt) -> None:
        if self.on_attempt is None:
            return
        try:
            await self.on_attempt(attempt)
        except Exception as exc:  # the attempt happened either way; the outbox row records it too
            log.error("alert_attempt_not_audited", alert_id=attempt.alert_id, error=repr(exc))

    async def _run(self) -> None:
        failures = 0
        while True:
            self._wake.clear()
            try:
                attempted = await self.deliver_due()
                failures = 0
            except Exception as exc:  # the database is down: keep trying, gently
                failures += 1
                log.warning("alerts_outbox_unreachable", error=repr(exc))
                await asyncio.sleep(min(self._poll * 5, 0.05 * 2 ** min(failures, 10)))
                continue
            if attempted:
                continue  # more may be due
            wait = self._poll
            with contextlib.suppress(Exception):
                due = await self.store.next_due()
                if due is not None:
                    wait = min(wait, max(0.0, due - self._clock()))
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel (close()) that lands
            # as the wait ends, and the loop would run on
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()


def _attempt_of(alert: Alert, number: int, at: float, outcome: Outcome, http_status: int | None, error: str | None,
                duration_ms: float, next_attempt_at: float | None) -> Attempt:
    return Attempt(alert.id, alert.kind, alert.event_id, alert.app_id, alert.user_ref, alert.session_id, number, at,
                   outcome, http_status, error, duration_ms, next_attempt_at)
