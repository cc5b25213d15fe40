"""What the console reads and acts on, handed in by the composition root (``adapters/wiring/services.py``).

Every member is a callable so the console can be built before start-up opens the stores; each is
called per request. A part the deployment lacks is ``None`` and its panel says "not available".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from middleware.alerts.handover import Handover, HandoverRegistry
    from middleware.alerts.outbox import AlertOutbox
    from middleware.audit.log import AuditLog
    from middleware.config.deployment import CandorConfig
    from middleware.likeness.service import LikenessService
    from middleware.policy.registry import PolicyRegistry
    from middleware.profiles.service import ProfileService


@dataclass(slots=True)
class ConsoleDeps:
    config: CandorConfig
    audit: Callable[[], AuditLog]
    policies: PolicyRegistry
    likeness: Callable[[], LikenessService] | None = None
    profiles: Callable[[], ProfileService] | None = None
    outbox: Callable[[], AlertOutbox] | None = None
    handover: Callable[[], HandoverRegistry] | None = None
    on_release: Callable[[list[Handover], str], Awaitable[None]] | None = None
    complaints: Callable[[], Any] | None = None   # absent until the complaints feature exists
