"""Build the likeness registry from the deployment config: store, change bus, service and gate.

- store: ``cfg.audit.url`` (the audit log's database): ``sqlite:///path`` (relative paths resolve
  against the config file's directory, like every path in candor.yaml) or ``postgresql://...``;
- bus: Redis pub/sub on channel ``candor:likeness`` when ``cfg.state.url`` is ``redis://`` or
  ``rediss://``, else none (gates then rely on their <= 1 s revision poll).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import redis.asyncio as aioredis
import structlog

from middleware.config import CandorConfig
from middleware.likeness.enforce import LikenessGate
from middleware.likeness.service import LikenessService, OnChange
from middleware.likeness.store import ChangeBus, LikenessStore

from .likeness_postgres import PostgresLikenessStore
from .likeness_sqlite import SqliteLikenessStore, sqlite_path
from .pg import split_pg_url

log = structlog.get_logger("candor.likeness")
CHANNEL = "candor:likeness"


def likeness_store(cfg: CandorConfig, url: str | None = None) -> LikenessStore:
    """The store for ``url`` (default ``cfg.audit.url``); not opened yet."""
    url = url or cfg.audit.url
    if url.startswith("sqlite:"):
        path = sqlite_path(url)
        return SqliteLikenessStore(path if path == ":memory:" else cfg.resolve_path(path))
    if url.startswith(("postgresql://", "postgres://")):
        dsn, schema = split_pg_url(url)
        return PostgresLikenessStore(dsn, schema=schema)
    raise ValueError(f"unsupported store URL {url!r}: use sqlite:///path/to/audit.db or postgresql://...")


class RedisLikenessBus:
    """Registry changes over Redis pub/sub: every replica drops its cache within milliseconds."""

    def __init__(self, url: str, channel: str = CHANNEL) -> None:
        self.channel = channel
        self._client = aioredis.from_url(url)

    async def publish(self, message: str) -> None:
        await self._client.publish(self.channel, message)

    async def listen(self, on_change: Callable[[], None]) -> None:
        delay = 0.1
        while True:
            pubsub = self._client.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                # messages published while we were not subscribed are lost: assume something changed
                on_change()
                delay = 0.1
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        on_change()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("likeness_bus_disconnected", error=repr(exc), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        await self._client.aclose()


def likeness_bus(cfg: CandorConfig) -> ChangeBus | None:
    url = cfg.state.url
    return RedisLikenessBus(url) if url.startswith(("redis://", "rediss://")) else None


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
