"""The record stage (middleware/pipeline/recorder.py): what an exchange becomes in the audit log."""

from __future__ import annotations

from typing import Any

import pytest

from middleware.audit.events import AuditUnavailable, EventDraft
from middleware.http.errors import CandorError
from middleware.pipeline.recorder import AuditRecorder
from middleware.testing import make_exchange


class FakeLog:
    def __init__(self, healthy: bool = True, fail: bool = False) -> None:
        self.healthy = healthy
        self.fail = fail
        self.drafts: list[EventDraft] = []

    async def append(self, draft: EventDraft) -> Any:
        if self.fail:
            raise AuditUnavailable("store down")
        self.drafts.append(draft)


async def test_a_refusal_is_recorded_with_its_code_and_the_age_band_used() -> None:
    log = FakeLog()
    rec = AuditRecorder(lambda: log)   # type: ignore[arg-type,return-value]
    ex = make_exchange(age_band="minor")
    ex.status, ex.kind = 403, "refusal"
    await rec.record(ex, CandorError(403, "persona_not_allowed_for_minor", "no"))
    draft = log.drafts[0]
    assert draft.kind == "refusal" and draft.status == 403
    assert draft.decisions[0]["rule"] == "age_band" and draft.decisions[-1]["detail"]["code"] == (
        "persona_not_allowed_for_minor")
    assert draft.content is not None   # the CN pack stores content (encrypted) for the user's own record


async def test_fail_closed_refuses_before_the_model_is_called() -> None:
    rec = AuditRecorder(lambda: FakeLog(healthy=False))   # type: ignore[arg-type,return-value]
    with pytest.raises(CandorError) as caught:
        rec.admit(make_exchange())
    assert caught.value.code == "audit_unavailable"


async def test_a_store_outage_while_recording_is_a_503() -> None:
    rec = AuditRecorder(lambda: FakeLog(fail=True))   # type: ignore[arg-type,return-value]
    with pytest.raises(CandorError) as caught:
        await rec.record(make_exchange())
    assert caught.value.status == 503
