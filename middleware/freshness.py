"""How the in-process caches in front of the database (persona gate, profile cache) stay fresh.

A cached answer is never older than ``ttl``: when the window has passed, the next read polls the
store itself (one reader at a time; the others wait and reuse its answer), and a background task
normally polls before that. The window is measured from before the query, so staleness never
exceeds ``ttl``. After a failed poll, reads fail fast for a moment instead of each waiting on a
store that is down.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from middleware.http.errors import CandorError

T = TypeVar("T")
RETRY_AFTER_FAILURE = 0.25   # seconds


class Freshness:
    def __init__(self, ttl: float, clock: Callable[[], float], *, unavailable: Callable[[BaseException], CandorError],
                 log: Any, event: str, recent_failure: str) -> None:
        self.ttl = ttl
        self._clock = clock
        self._unavailable = unavailable
        self._log = log
        self._event = event                    # the warning logged when the store cannot be reached
        self._recent_failure = recent_failure  # what a fast-failed read says
        self._fresh_until = float("-inf")
        self._failed_at = float("-inf")
        self._lock = asyncio.Lock()

    @property
    def stale(self) -> bool:
        return self._clock() >= self._fresh_until

    async def refresh(self, query: Callable[[], Awaitable[T]], apply: Callable[[T], None]) -> None:
        """Poll unless another reader did while this one waited; a 503 if the store failed just now."""
        if self._clock() - self._failed_at < RETRY_AFTER_FAILURE:
            raise self._unavailable(RuntimeError(self._recent_failure))
        async with self._lock:
            if not self.stale:
                return
            await self._poll_locked(query, apply)

    async def poll(self, query: Callable[[], Awaitable[T]], apply: Callable[[T], None]) -> None:
        """``apply(await query())`` and start a new window; a 503 (``unavailable``) if the query fails."""
        async with self._lock:
            await self._poll_locked(query, apply)

    async def _poll_locked(self, query: Callable[[], Awaitable[T]], apply: Callable[[T], None]) -> None:
        started = self._clock()
        try:
            result = await query()
        except Exception as exc:
            self._failed_at = self._clock()
            self._log.warning(self._event, error=repr(exc))
            raise self._unavailable(exc) from exc
        apply(result)
        # measured from before the query: a cached answer is never older than ttl
        self._fresh_until = started + self.ttl


async def stop_tasks(tasks: Iterable[asyncio.Task[None]]) -> None:
    """Cancel the background tasks and wait for them to end, whatever they raise."""
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
