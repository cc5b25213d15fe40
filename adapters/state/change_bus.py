"""Change notices between replicas over Redis pub/sub, for the caches of registries kept in the database.

A replica that changes the persona registry or a profile publishes a short message on the
registry's channel; every replica's listener drops what it cached at once instead of waiting for its
revision poll. Messages published while a listener is not subscribed are lost, so the listener also
reports "something changed" (``None``) on every (re)connect.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import redis.asyncio as aioredis
import structlog

from middleware.config.deployment import CandorConfig


def redis_url(cfg: CandorConfig) -> str | None:
    """``cfg.state.url`` when it names Redis (``redis://``, ``rediss://``), else None: no bus."""
    url = cfg.state.url
    return url if url.startswith(("redis://", "rediss://")) else None


class RedisChangeBus:
    """Publish and listen on one Redis pub/sub channel; ``name`` labels the reconnect warnings."""

    def __init__(self, url: str, channel: str, *, name: str) -> None:
        self.channel = channel
        self.name = name
        self._log = structlog.get_logger(f"candor.{name}")
        self._client = aioredis.from_url(url)

    async def publish(self, message: str) -> None:
        await self._client.publish(self.channel, message)

    async def messages(self, on_message: Callable[[str | None], None]) -> None:
        """Call ``on_message`` with every message, and with None after each (re)connect; until cancelled.
        Reconnects with a backoff of 0.1 s doubling to 2 s."""
        delay = 0.1
        while True:
            pubsub = self._client.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                # messages published while we were not subscribed are lost: assume anything changed
                on_message(None)
                delay = 0.1
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        data = message.get("data")
                        on_message(data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._log.warning(f"{self.name}_bus_disconnected", error=repr(exc), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        await self._client.aclose()
