"""The port through which the engine's entry points (CLI verbs, ``policy test``) reach concrete adapters.

``middleware`` never imports ``adapters`` (an import-linter contract checks it). The process entry point
(``adapters/main.py``) builds the one composition root (``adapters/root.py``) and installs it here before
any command runs; tests install the same root in ``tests/conftest.py``. Nothing is loaded by name.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from middleware.alerts.handover import HandoverStore
    from middleware.alerts.outbox import AlertOutbox
    from middleware.audit.log import AuditLog
    from middleware.audit.store import AuditStore
    from middleware.config.deployment import CandorConfig, ModelConfig
    from middleware.http.app import CandorASGI
    from middleware.likeness.service import LikenessService
    from middleware.likeness.service import OnChange as LikenessOnChange
    from middleware.pipeline.upstream import Upstream
    from middleware.profiles.service import OnChange as ProfileOnChange
    from middleware.profiles.service import ProfileService


class Composition(Protocol):
    def build_app(self, cfg: CandorConfig, *, upstream_override: Upstream | None = None,
                  clock: Callable[[], float] | None = None) -> CandorASGI:
        """The ASGI app of a deployment, wired with its adapters (or one scripted model and a clock)."""

    def audit_store(self, url: str, base_dir: Path | None = None) -> AuditStore:
        """The audit store for ``url``, not yet opened."""

    async def audit_log(self, cfg: CandorConfig, *, stream: str | None = None) -> AuditLog:
        """The running audit log of a deployment (store, keys and settings from ``cfg``)."""

    def likeness(self, cfg: CandorConfig, store_url: str | None, on_change: LikenessOnChange | None
                 ) -> AbstractAsyncContextManager[LikenessService]:
        """The persona and consent registry, opened for one command."""

    def profiles(self, cfg: CandorConfig, store_url: str | None, on_change: ProfileOnChange | None
                 ) -> AbstractAsyncContextManager[ProfileService]:
        """The user-profile registry, opened for one command."""

    def model_problem(self, model: ModelConfig) -> tuple[str, str] | None:
        """``(key, message)`` when the model cannot be routed to a provider (no api_base, key unset)."""

    def alert_outbox(self, cfg: CandorConfig, store_url: str | None) -> AbstractAsyncContextManager[AlertOutbox]:
        """The alert outbox, opened for one command (not delivering)."""

    def handovers(self, cfg: CandorConfig, store_url: str | None) -> AbstractAsyncContextManager[HandoverStore]:
        """The crisis hand-over store, opened for one command."""

    def serve(self, cfg: CandorConfig) -> int:
        """Checks what every worker needs, then runs the server until it stops."""


_installed: Composition | None = None


def install(root: Composition) -> None:
    global _installed
    _installed = root


def current() -> Composition:
    if _installed is None:
        raise RuntimeError("no composition root installed: run Candor through its entry point "
                           "(the `candor` command, `python -m adapters.main`) or install adapters.root")
    return _installed
