"""The composition root: the one place where the engine meets its concrete adapters.

``candor serve``, every CLI verb, ``candor policy test`` and the tests all build Candor through this
module (installed into ``middleware.composition`` by the entry point, ``adapters/main.py``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from urllib.parse import urlsplit

from adapters.postgres.audit import PostgresAuditStore
from adapters.sqlite.audit import SQLiteAuditStore
from adapters.wiring.likeness import build_likeness
from adapters.wiring.profiles import build_profiles
from middleware import composition
from middleware.alerts.handover import HandoverStore
from middleware.alerts.outbox import AlertOutbox
from middleware.audit.keys import load_keys
from middleware.audit.log import AuditLog, LogSettings
from middleware.audit.store import AuditStore
from middleware.config.deployment import CandorConfig, ModelConfig
from middleware.http.app import CandorASGI, asgi_app
from middleware.likeness.service import LikenessService
from middleware.likeness.service import OnChange as LikenessOnChange
from middleware.pipeline.upstream import Upstream
from middleware.profiles.service import OnChange as ProfileOnChange
from middleware.profiles.service import ProfileService


def build_app(cfg: CandorConfig, *, upstream_override: Upstream | None = None,
              clock: Callable[[], float] | None = None) -> CandorASGI:
    from adapters.wiring.services import build_services

    return asgi_app(build_services(cfg, upstream_override=upstream_override, clock=clock))


def audit_store(url: str, base_dir: Path | None = None) -> AuditStore:
    """The store for ``url`` (not yet opened); relative SQLite paths resolve against ``base_dir``."""
    scheme = urlsplit(url).scheme.split("+")[0]
    if scheme == "sqlite":
        return SQLiteAuditStore(url, base_dir=base_dir)
    if scheme in ("postgresql", "postgres"):
        return PostgresAuditStore(url, base_dir=base_dir)
    raise ValueError(f"unsupported audit store URL {url!r}: use sqlite:///path or postgresql://...")


async def audit_log(cfg: CandorConfig, *, stream: str | None = None) -> AuditLog:
    """The log for a deployment: store from ``audit.url``, keys per ``middleware/audit/keys.py``."""
    return await AuditLog.start(audit_store(cfg.audit.url, cfg.base_dir), load_keys(cfg),
                                LogSettings.from_config(cfg), stream=stream)


@contextlib.asynccontextmanager
async def likeness(cfg: CandorConfig, store_url: str | None,
                   on_change: LikenessOnChange | None) -> AsyncIterator[LikenessService]:
    runtime = await build_likeness(cfg, store_url=store_url, start_gate=False, on_change=on_change)
    try:
        yield runtime.service
    finally:
        await runtime.close()


@contextlib.asynccontextmanager
async def profiles(cfg: CandorConfig, store_url: str | None,
                   on_change: ProfileOnChange | None) -> AsyncIterator[ProfileService]:
    runtime = await build_profiles(cfg, store_url=store_url, on_change=on_change, start=False)
    try:
        yield runtime.service
    finally:
        await runtime.close()


def serve(cfg: CandorConfig) -> int:
    from adapters.server.serve import serve as run_server

    return run_server(cfg)


@contextlib.asynccontextmanager
async def alert_outbox(cfg: CandorConfig, store_url: str | None) -> AsyncIterator[AlertOutbox]:
    """The alert outbox for one command: opened, not delivering (the server delivers)."""
    from adapters.wiring.alerts import build_alerts

    runtime = await build_alerts(cfg, store_url=store_url, start=False)
    try:
        yield runtime.outbox
    finally:
        await runtime.close()


@contextlib.asynccontextmanager
async def handovers(cfg: CandorConfig, store_url: str | None) -> AsyncIterator[HandoverStore]:
    from adapters.stores.handover import handover_store

    store = handover_store(cfg, store_url)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


def model_problem(model: ModelConfig) -> tuple[str, str] | None:
    from adapters.upstream.routes import model_problem as check

    return check(model)


class AdapterRoot:
    """``middleware.composition.Composition`` made of this package's adapters."""

    build_app = staticmethod(build_app)
    audit_store = staticmethod(audit_store)
    audit_log = staticmethod(audit_log)
    likeness = staticmethod(likeness)
    profiles = staticmethod(profiles)
    serve = staticmethod(serve)
    model_problem = staticmethod(model_problem)
    alert_outbox = staticmethod(alert_outbox)
    handovers = staticmethod(handovers)


def install() -> None:
    composition.install(AdapterRoot())
