"""Build the user-profile service from the deployment config: store, change bus and service.

- store: ``cfg.audit.url`` (the audit log's database): ``sqlite:///path`` (relative paths resolve
  against the config file's directory, like every path in candor.yaml) or ``postgresql://...``;
- bus: Redis pub/sub on channel ``candor:profiles`` when ``cfg.state.url`` is ``redis://`` or
  ``rediss://``, else none (caches then rely on their revision poll, at most ``ttl`` behind).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import redis.asyncio as aioredis
import structlog

from middleware.config import CandorConfig
from middleware.profiles.service import OnChange, ProfileService
from middleware.profiles.store import ProfileBus, ProfileStore

from .likeness_sqlite import sqlite_path
from .pg import split_pg_url
from .profiles_postgres import PostgresProfileStore
from .profiles_sqlite import SqliteProfileStore

log = structlog.get_logger("candor.profiles")
CHANNEL = "candor:profiles"


def profile_store(cfg: CandorConfig, url: str | None = None) -> ProfileStore:
    """The store for ``url`` (default ``cfg.audit.url``); not opened yet."""
    url = url or cfg.audit.url
    if url.startswith("sqlite:"):
        path = sqlite_path(url)
        return SqliteProfileStore(path if path == ":memory:" else cfg.resolve_path(path))
    if url.startswith(("postgresql://", "postgres://")):
        dsn, schema = split_pg_url(url)  # ?schema=NAME: Candor's tables in that schema
        return PostgresProfileStore(dsn, schema=schema)
    raise ValueError(f"unsupported store URL {url!r}: use sqlite:///path/to/audit.db or postgresql://...")


class RedisProfileBus:
    """Profile changes over Redis pub/sub: every replica drops the changed user within milliseconds."""

    def __init__(self, url: str, channel: str = CHANNEL) -> None:
        self.channel = channel
        self._client = aioredis.from_url(url)

    async def publish(self, message: str) -> None:
        await self._client.publish(self.channel, message)

    async def listen(self, on_message: Callable[[str | None], None]) -> None:
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
                log.warning("profiles_bus_disconnected", error=repr(exc), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        await self._client.aclose()


def profile_bus(cfg: CandorConfig) -> ProfileBus | None:
    url = cfg.state.url
    return RedisProfileBus(url) if url.startswith(("redis://", "rediss://")) else None


@dataclass
class ProfilesRuntime:
    store: ProfileStore
    bus: ProfileBus | None
    service: ProfileService

    async def close(self) -> None:
        await self.service.close()
        if self.bus is not None:
            await self.bus.close()
        await self.store.close()


async def build_profiles(cfg: CandorConfig, *, on_change: OnChange | None = None, store_url: str | None = None,
                         ttl: float = 0.5, start: bool = True) -> ProfilesRuntime:
    """Open the store (migrating it), connect the bus, start the service's cache refresher.

    ``ttl`` bounds how stale a cached profile may be without a bus message: at most 1 s, so a change
    reaches every replica within a second even when Redis is not in use."""
    if not 0 < ttl <= 1.0:
        raise ValueError("ttl must be in (0, 1] seconds: profile changes must reach every replica within 1 s")
    store = profile_store(cfg, store_url)
    await store.open()
    bus = profile_bus(cfg)
    service = ProfileService(store, bus=bus, on_change=on_change, ttl=ttl)
    if start:
        try:
            await service.start()
        except BaseException:
            if bus is not None:
                await bus.close()
            await store.close()
            raise
    return ProfilesRuntime(store, bus, service)
