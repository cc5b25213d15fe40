"""Build the likeness registry from the deployment config: store, change bus, service and gate.

- store: ``cfg.audit.url`` (the audit log's database): ``sqlite:///path`` (relative paths resolve
  against the config file's directory, like every path in candor.yaml) or ``postgresql://...``;
- bus: Redis pub/sub on channel ``candor:likeness`` when ``cfg.state.url`` is ``redis://`` or
  ``rediss://``, else none (gates then rely on their <= 1 s revision poll).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from adapters.postgres.likeness import PostgresLikenessStore
from adapters.sqlite.likeness import SqliteLikenessStore
from adapters.state.change_bus import RedisChangeBus, redis_url
from adapters.stores.url import choose_store
from middleware.config.deployment import CandorConfig
from middleware.likeness.enforce import LikenessGate
from middleware.likeness.service import LikenessService, OnChange
from middleware.likeness.store import ChangeBus, LikenessStore

CHANNEL = "candor:likeness"


def likeness_store(cfg: CandorConfig, url: str | None = None) -> LikenessStore:
    """The store for ``url`` (default ``cfg.audit.url``); not opened yet."""
    return choose_store(cfg, url, sqlite=SqliteLikenessStore, postgres=PostgresLikenessStore)


class RedisLikenessBus(RedisChangeBus):
    """Registry changes over Redis pub/sub: every replica drops its cache within milliseconds."""

    def __init__(self, url: str, channel: str = CHANNEL) -> None:
        super().__init__(url, channel, name="likeness")

    async def listen(self, on_change: Callable[[], None]) -> None:
        await self.messages(lambda _message: on_change())


def likeness_bus(cfg: CandorConfig) -> ChangeBus | None:
    url = redis_url(cfg)
    return None if url is None else RedisLikenessBus(url)


@dataclass
class LikenessRuntime:
    store: LikenessStore
    bus: ChangeBus | None
    service: LikenessService
    gate: LikenessGate

    async def close(self) -> None:
        await self.gate.close()
        if self.bus is not None:
            await self.bus.close()
        await self.store.close()


async def build_likeness(cfg: CandorConfig, *, on_change: OnChange | None = None, store_url: str | None = None,
                         ttl: float = 0.5, start_gate: bool = True) -> LikenessRuntime:
    """Open the store (migrating it), connect the bus, wire service -> gate invalidation, start the gate."""
    store = likeness_store(cfg, store_url)
    await store.open()
    bus = likeness_bus(cfg)
    service = LikenessService(store, on_change=on_change, bus=bus)
    gate = LikenessGate(store, bus=bus, ttl=ttl)
    service.add_listener(gate.invalidate)
    if start_gate:
        await gate.start()
    return LikenessRuntime(store, bus, service, gate)
