"""Taking, listing and resolving complaints; each intake and each resolution is an audit event (kind
``complaint``) carrying the id, category and due date, never the text."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from middleware.audit.events import AuditUnavailable, EventDraft, new_event_id
from middleware.complaints.models import Complaint, Status, iso, new_complaint_id
from middleware.complaints.store import ComplaintStore
from middleware.http.errors import CandorError
from middleware.pipeline.recorder import audit_unavailable
from middleware.policy.model import Policy

DEFAULT_RESPOND_WITHIN = 15 * 86400.0   # for a policy without a complaints section (documented in the README)
CITES = ["ANTH-COMPLAINT-1"]
Record = Callable[[EventDraft], Awaitable[Any]]


class ComplaintService:
    def __init__(self, store: Callable[[], ComplaintStore], record: Record, clock: Callable[[], float]) -> None:
        self._store = store
        self._record = record
        self._clock = clock

    async def file(self, app_id: str, policy: Policy, user_id: str, category: str, text: str,
                   session: str | None) -> Complaint:
        now = self._clock()
        within = policy.complaints.respond_within if policy.complaints is not None else DEFAULT_RESPOND_WITHIN
        complaint = Complaint(id=new_complaint_id(), app_id=app_id, user_id=user_id, category=category, text=text,
                              session_id=session, created_at=now, due_by=now + within)
        cites = list(policy.complaints.cites) if policy.complaints is not None else CITES
        # the record first (fail closed): a complaint Candor cannot account for is not taken
        await self._append(self._event(complaint, policy, "received", cites, {"respond_within_s": within}))
        await self._store().insert(complaint)
        return complaint

    async def resolve(self, complaint_id: str, resolution: str, policy_for: Callable[[str], Policy]) -> Complaint:
        store = self._store()
        found = await store.get(complaint_id)
        if found is None:
            raise CandorError(404, "complaint_not_found", f"no complaint {complaint_id!r}")
        if found.status == "resolved":
            raise CandorError(409, "complaint_already_resolved",
                              f"complaint {complaint_id!r} was resolved at {iso(found.resolved_at)}")
        done = await store.resolve(complaint_id, self._clock(), resolution)
        if done is None:   # resolved by someone else a moment ago
            raise CandorError(409, "complaint_already_resolved", f"complaint {complaint_id!r} is already resolved")
        policy = policy_for(done.app_id)
        cites = list(policy.complaints.cites) if policy.complaints is not None else CITES
        await self._append(self._event(done, policy, "resolved", cites, {"late": done.overdue(self._clock())}))
        return done

    async def find(self, status: str | None, app_id: str | None, user_id: str | None, limit: int) -> list[Complaint]:
        state: Status | None = None
        due_before = None
        if status == "overdue":
            state, due_before = "open", self._clock()
        elif status in ("open", "resolved"):
            state = status  # type: ignore[assignment]
        return await self._store().find(status=state, app_id=app_id, user_id=user_id, due_before=due_before,
                                        limit=limit)

    async def _append(self, draft: EventDraft) -> None:
        try:
            await self._record(draft)
        except AuditUnavailable as exc:
            raise audit_unavailable(str(exc) or "the audit store is unreachable") from exc

    @staticmethod
    def _event(c: Complaint, policy: Policy, outcome: str, cites: list[str], extra: dict[str, Any]) -> EventDraft:
        return EventDraft(
            event_id=new_event_id(), kind="complaint", app_id=c.app_id, user_id=c.user_id, session_id=c.session_id,
            policy_id=policy.id, policy_version=policy.version, status=201 if outcome == "received" else 200,
            decisions=[{"rule": "complaint", "cites": cites, "outcome": outcome,
                        "detail": {"complaint_id": c.id, "category": c.category, "due_by": iso(c.due_by), **extra}}],
            fail_mode=policy.audit.fail)
