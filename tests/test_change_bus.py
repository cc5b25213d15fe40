"""Change notices between replicas over Redis pub/sub (adapters/state/change_bus.py), against a real Redis."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from adapters.state.change_bus import RedisChangeBus, redis_url
from middleware.config.deployment import CandorConfig, StateConfig
from tests.services import require_redis

pytestmark = pytest.mark.services


def test_only_a_redis_state_url_gives_a_bus() -> None:
    assert redis_url(CandorConfig()) is None
    assert redis_url(CandorConfig(state=StateConfig(url="redis://h:6379/0"))) == "redis://h:6379/0"


async def test_a_published_change_reaches_a_listener_after_its_connect_signal() -> None:
    url = require_redis()
    channel = f"candor:test:{uuid.uuid4().hex}"
    listener, publisher = RedisChangeBus(url, channel, name="t"), RedisChangeBus(url, channel, name="t")
    got: list[str | None] = []
    task = asyncio.create_task(listener.messages(got.append))
    try:
        for _ in range(1500):   # up to 30 s: generous for a busy machine
            if got:
                break
            await asyncio.sleep(0.02)
        assert got == [None], "a (re)connect first says: anything may have changed"
        await publisher.publish("persona:lin")
        for _ in range(1500):
            if len(got) > 1:
                break
            await asyncio.sleep(0.02)
        assert got[1:] == ["persona:lin"]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await listener.close()
        await publisher.close()
