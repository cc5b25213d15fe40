"""Build the user-profile service from the deployment config: store, change bus and service.

- store: ``cfg.audit.url`` (the audit log's database): ``sqlite:///path`` (relative paths resolve
  against the config file's directory, like every path in candor.yaml) or ``postgresql://...``;
- bus: Redis pub/sub on channel ``candor:profiles`` when ``cfg.state.url`` is ``redis://`` or
  ``rediss://``, else none (caches then rely on their revision poll, at most ``ttl`` behind).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from adapters.postgres.profiles import PostgresProfileStore
from adapters.sqlite.profiles import SqliteProfileStore
from adapters.state.change_bus import RedisChangeBus, redis_url
from adapters.stores.url import choose_store
from middleware.config.deployment import CandorConfig
from middleware.profiles.service import OnChange, ProfileService
from middleware.profiles.store import ProfileBus, ProfileStore

CHANNEL = "candor:profiles"


def profile_store(cfg: CandorConfig, url: str | None = None) -> ProfileStore:
    """The store for ``url`` (default ``cfg.audit.url``); not opened yet."""
    return choose_store(cfg, url, sqlite=SqliteProfileStore, postgres=PostgresProfileStore)


class RedisProfileBus(RedisChangeBus):
    """Profile changes over Redis pub/sub: every replica drops the changed user within milliseconds."""

    def __init__(self, url: str, channel: str = CHANNEL) -> None:
        super().__init__(url, channel, name="profiles")

    async def listen(self, on_message: Callable[[str | None], None]) -> None:
        await self.messages(on_message)


def profile_bus(cfg: CandorConfig) -> ProfileBus | None:
    url = redis_url(cfg)
    return None if url is None else RedisProfileBus(url)


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
