"""Cached registry reads and their freshness window (middleware/freshness.py), and change
announcements that never fail a write (middleware/change_report.py)."""

from __future__ import annotations

from typing import Any

import pytest
import structlog

from middleware.change_report import audit_change, publish_quietly
from middleware.freshness import Freshness
from middleware.http.errors import CandorError
from middleware.testing import VirtualClock


def _unavailable(exc: BaseException) -> CandorError:
    return CandorError(503, "store_unavailable", str(exc))


async def test_a_poll_opens_a_window_and_a_failure_is_a_503() -> None:
    clock = VirtualClock()
    fresh = Freshness(0.5, clock, unavailable=_unavailable, log=structlog.get_logger(), event="e",
                      recent_failure="failed just now")
    got: list[int] = []

    async def query() -> int:
        return 1

    assert fresh.stale
    await fresh.poll(query, got.append)
    assert got == [1] and not fresh.stale
    clock.advance(0.6)
    assert fresh.stale

    async def broken() -> int:
        raise OSError("down")

    with pytest.raises(CandorError):
        await fresh.refresh(broken, got.append)
    with pytest.raises(CandorError, match="failed just now"):   # no hammering a store that just failed
        await fresh.refresh(query, got.append)


async def test_announcing_a_change_never_fails_but_auditing_it_must() -> None:
    class Bus:
        async def publish(self, message: str) -> None:
            raise OSError("redis down")

    await publish_quietly(Bus(), "changed", log=structlog.get_logger(), event="bus_failed")

    async def audit(record: Any) -> None:
        raise OSError("audit down")

    with pytest.raises(CandorError) as caught:
        await audit_change(audit, {"x": 1}, what="the persona", log=structlog.get_logger(), event="e")
    assert caught.value.code == "audit_unavailable" and "the persona" in caught.value.message
