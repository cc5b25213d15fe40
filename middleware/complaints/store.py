"""What complaints need from the outside: a store in the audit log's database (``complaints`` table).
Implementations: ``adapters/stores/complaints.py`` (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Protocol

from middleware.complaints.models import Complaint, Status


class ComplaintStore(Protocol):
    async def open(self) -> None:
        """Connect and create the table (idempotent)."""

    async def close(self) -> None: ...

    async def insert(self, complaint: Complaint) -> None: ...

    async def get(self, complaint_id: str) -> Complaint | None: ...

    async def find(self, *, status: Status | None, app_id: str | None, user_id: str | None,
                   due_before: float | None, limit: int) -> list[Complaint]:
        """Newest first; ``due_before``: only those due before that time."""

    async def resolve(self, complaint_id: str, at: float, resolution: str) -> Complaint | None:
        """Mark an open complaint resolved; None when there is no open complaint with that id."""
