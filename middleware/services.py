"""What a running Candor is made of. Built by the composition root (``adapters/wiring/services.py``), which is
the one place where concrete adapters meet the engine; everything else sees these interfaces."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from starlette.routing import BaseRoute

from middleware.audit.unauth import UnauthenticatedTally
from middleware.config.deployment import CandorConfig
from middleware.http.auth import AppKeys
from middleware.pipeline.stages import Pipeline
from middleware.policy.model import Policy


class PolicySource(Protocol):
    def get(self, policy_id: str) -> Policy: ...


ReadyCheck = Callable[[], Awaitable[tuple[str, bool, str]]]
Hook = Callable[[], Awaitable[None]]


@dataclass(slots=True)
class Services:
    config: CandorConfig
    keys: AppKeys
    pipeline: Pipeline
    policies: PolicySource
    default_policy: str
    ready_checks: list[ReadyCheck] = field(default_factory=list)
    routes: list[BaseRoute] = field(default_factory=list)      # admin and auditor APIs
    on_startup: list[Hook] = field(default_factory=list)
    on_shutdown: list[Hook] = field(default_factory=list)
    # requests without a valid key are counted here, not recorded one by one (middleware/audit/unauth.py)
    unauthenticated: UnauthenticatedTally | None = None
