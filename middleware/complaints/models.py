"""A complaint as apps file it and operators answer it (contract 6.2).

``POST /v1/complaints`` takes ``{"user", "category", "text", "session"?}``; ``category`` is one of
``CATEGORIES`` (``minor_status`` is a suspected minor's appeal, ANTH-MINOR-5). Each complaint is due for an
answer by ``due_by``: its creation time plus the policy's ``complaints.respond_within``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from middleware.http.errors import invalid_request

CATEGORIES = ("content", "minor_status", "privacy", "crisis", "labels", "other")
Status = Literal["open", "resolved"]
MAX_TEXT = 10_000
MAX_REF = 256


def new_complaint_id() -> str:
    return f"cmp_{secrets.token_hex(12)}"


def iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Complaint:
    id: str
    app_id: str
    user_id: str
    category: str
    text: str
    session_id: str | None
    created_at: float
    due_by: float
    status: Status = "open"
    resolved_at: float | None = None
    resolution: str | None = None

    def overdue(self, now: float) -> bool:
        """Open past its due date, or answered after it."""
        return (self.resolved_at if self.resolved_at is not None else now) > self.due_by

    def as_json(self, now: float) -> dict[str, Any]:
        return {"object": "complaint", "id": self.id, "app_id": self.app_id, "user": self.user_id,
                "category": self.category, "text": self.text, "session": self.session_id,
                "created_at": iso(self.created_at), "due_by": iso(self.due_by), "status": self.status,
                "overdue": self.overdue(now), "resolved_at": iso(self.resolved_at), "resolution": self.resolution}


def _string(body: dict[str, Any], key: str, limit: int, required: bool) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise invalid_request(f"{key!r} must be a non-empty string", param=key)
    if len(value) > limit:
        raise invalid_request(f"{key!r} is longer than {limit} characters", param=key)
    return value


def parse_new(body: Any) -> tuple[str, str, str, str | None]:
    """``(user, category, text, session)`` from a ``POST /v1/complaints`` body, or a 400 naming the field."""
    if not isinstance(body, dict):
        raise invalid_request('the body must be a JSON object: {"user", "category", "text", "session"?}')
    unknown = sorted(set(body) - {"user", "category", "text", "session"})
    if unknown:
        raise invalid_request(f"unknown field(s): {', '.join(unknown)}; a complaint has user, category, text and "
                              "optionally session", param=unknown[0])
    user = _string(body, "user", MAX_REF, True)
    category = body.get("category")
    if category not in CATEGORIES:
        raise invalid_request(f"category must be one of {', '.join(CATEGORIES)} (got {category!r})", param="category")
    text = _string(body, "text", MAX_TEXT, True)
    session = _string(body, "session", MAX_REF, False)
    assert user is not None and text is not None
    return user, str(category), text, session


def parse_resolution(body: Any) -> str:
    if not isinstance(body, dict) or set(body) - {"resolution"}:
        raise invalid_request('the body must be {"resolution": "what was done and answered"}')
    resolution = _string(body, "resolution", MAX_TEXT, True)
    assert resolution is not None
    return resolution
