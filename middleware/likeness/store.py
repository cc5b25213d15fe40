"""The interfaces the likeness registry needs from the outside: a store and a change bus.

Implementations live in ``adapters/`` (SQLite, PostgreSQL, Redis). The store keeps personas,
subjects, consents and revocations in the audit log's database, in its own ``likeness_*`` tables,
and a ``revision`` counter bumped in the same transaction as every change: gates in other
processes poll that one number to learn, cheaply, that their cache is stale.

Consents and revocations are append-only (the stores also refuse UPDATE and DELETE on them with
triggers), so the ledger is its own history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from middleware.likeness.models import Consent, Persona, Subject


class StoreError(Exception):
    """A write the store refused; the message is meant for the operator."""


class AlreadyExists(StoreError):
    pass


class NotFound(StoreError):
    pass


class Conflict(StoreError):
    pass


@dataclass(frozen=True, slots=True)
class GateState:
    """What a gate needs to decide about one persona: it and its subject's unrevoked consents."""

    persona: Persona
    consents: tuple[Consent, ...]


class LikenessStore(Protocol):
    async def open(self) -> None:
        """Connect and migrate (idempotent; safe with several replicas starting together)."""

    async def close(self) -> None: ...

    async def revision(self) -> int:
        """A counter that changes with every committed write."""

    async def get_subject(self, subject_id: str) -> Subject | None: ...

    async def get_persona(self, persona_id: str) -> Persona | None:
        """The persona with its likeness facts read from its subject."""

    async def list_personas(self) -> list[Persona]: ...

    async def insert_persona(self, persona: Persona, subject: Subject | None) -> None:
        """Insert ``persona`` and upsert ``subject``; AlreadyExists if the id is taken."""

    async def update_persona(self, persona: Persona, subject: Subject | None) -> None:
        """Replace the persona's row and upsert ``subject``; NotFound if absent."""

    async def insert_consent(self, consent: Consent) -> None:
        """Append a consent. If ``consent.replaces`` is set, revoke that one in the same transaction
        (Conflict if it is revoked already or belongs to another subject, NotFound if absent)."""

    async def revoke_consent(self, consent_id: str, at: datetime, reason: str, actor: str) -> None:
        """Append a revocation; NotFound if absent, Conflict if already revoked."""

    async def get_consent(self, consent_id: str) -> Consent | None: ...

    async def list_consents(self, subject_id: str | None = None) -> list[Consent]:
        """All consents (revoked included), oldest first."""

    async def load_gate_state(self, persona_id: str) -> GateState | None:
        """The persona and its subject's consents that are not revoked, read in one transaction."""


class ChangeBus(Protocol):
    """Tells the other replicas that the registry changed (e.g. Redis pub/sub)."""

    async def publish(self, message: str) -> None:
        """Announce a change (``persona:<id>`` or ``subject:<id>``; receivers may just drop caches)."""

    async def listen(self, on_change: Callable[[], None]) -> None:
        """Call ``on_change`` for every change published anywhere, until cancelled. Also call it
        after a reconnect, since messages sent while disconnected are lost."""

    async def close(self) -> None: ...
