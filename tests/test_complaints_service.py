"""The complaints service: due dates from the policy, the record before the row (fail closed), late
resolutions marked, filters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adapters.stores.complaints import SqliteComplaintStore
from middleware.audit.events import AuditUnavailable, EventDraft
from middleware.complaints.service import DEFAULT_RESPOND_WITHIN, ComplaintService
from middleware.http.errors import CandorError
from middleware.policy.registry import PolicyRegistry, builtin_packs_dir

DAY = 86400.0


class Clock:
    now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def packs() -> PolicyRegistry:
    from middleware.config.deployment import CandorConfig

    return PolicyRegistry.from_config(CandorConfig(policies_dir=str(builtin_packs_dir())))


async def test_due_date_from_the_policy_record_first_and_late_resolution(tmp_path: Path, packs: Any) -> None:
    store = SqliteComplaintStore(tmp_path / "audit.db")
    await store.open()
    drafts: list[EventDraft] = []

    async def record(draft: EventDraft) -> None:
        drafts.append(draft)

    clock = Clock()
    service = ComplaintService(lambda: store, record, clock)
    cn, eu = packs.get("cn-anthropomorphic-2026"), packs.get("eu-ai-act-art50")
    c = await service.file("app", cn, "u", "privacy", "delete my data", None)
    assert c.due_by - c.created_at == 15 * DAY and drafts[-1].kind == "complaint"
    e = await service.file("app", eu, "u", "other", "x", "s1")      # no complaints section: the default
    assert e.due_by - e.created_at == DEFAULT_RESPOND_WITHIN
    clock.now += 16 * DAY
    assert {x.id for x in await service.find("overdue", None, None, 10)} == {e.id, c.id}
    done = await service.resolve(c.id, "deleted", lambda app: cn)
    assert done.status == "resolved" and drafts[-1].decisions[0]["detail"]["late"] is True
    with pytest.raises(CandorError) as again:
        await service.resolve(c.id, "x", lambda app: cn)
    assert again.value.status == 409
    await store.close()


async def test_a_complaint_is_not_taken_when_its_record_cannot_be_kept(tmp_path: Path, packs: Any) -> None:
    store = SqliteComplaintStore(tmp_path / "audit.db")
    await store.open()

    async def down(draft: EventDraft) -> None:
        raise AuditUnavailable("store down")

    service = ComplaintService(lambda: store, down, Clock())
    with pytest.raises(CandorError) as info:
        await service.file("app", packs.get("cn-anthropomorphic-2026"), "u", "content", "x", None)
    assert info.value.status == 503 and info.value.code == "audit_unavailable"
    assert await store.find(status=None, app_id=None, user_id=None, due_before=None, limit=10) == []
    await store.close()
