"""Retention and erasure (middleware/audit/retention.py) and the compliance report
(middleware/audit/report.py), on a real SQLite audit log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.root import audit_log
from middleware.audit.events import EventDraft, new_event_id
from middleware.audit.log import AuditLog
from middleware.audit.report import compute_report, render_markdown
from middleware.audit.retention import erase_user, purge
from middleware.config.deployment import load_config


@pytest.fixture
async def log(tmp_path: Path) -> AsyncIterator[AuditLog]:
    (tmp_path / "candor.yaml").write_text(f"audit: {{url: \"sqlite:///{tmp_path}/a.db\", generate_keys: true}}\n")
    opened = await audit_log(load_config(tmp_path / "candor.yaml"))
    yield opened
    await opened.close()


async def _exchange(log: AuditLog, kind: str = "exchange", status: int = 200, **decision: object) -> None:
    decisions = [decision] if decision else []
    await log.append(EventDraft(new_event_id(), kind, app_id="a", user_id="u-1", session_id="s", status=status,
                                policy_id="cn-anthropomorphic-2026", decisions=decisions,  # type: ignore[list-item]
                                content={"messages": [{"role": "user", "content": "hi"}]}))


async def test_the_report_counts_exchanges_refusals_and_crises(log: AuditLog) -> None:
    await _exchange(log)
    await _exchange(log, "refusal", 403, rule="refusal", cites=[], outcome="refused",
                    detail={"code": "guardian_consent_required"})
    await _exchange(log, "crisis", rule="crisis", cites=["ANTH-CRISIS-2"], outcome="replaced",
                    detail={"level": "explicit_intent", "category": "self_harm", "alerted": True})
    report = await compute_report(log.store, None, None)
    text = render_markdown(report)
    assert "guardian_consent_required" in text
    assert report and "crisis" in text.lower()


async def test_erasure_destroys_content_and_is_itself_recorded(log: AuditLog) -> None:
    await _exchange(log)
    event, keys, contents = await erase_user(log, "u-1", actor="test")
    assert keys >= 1 and contents >= 1 and event.kind == "erasure"


async def test_purge_refuses_nonsense_and_records_each_run(log: AuditLog) -> None:
    await _exchange(log)
    with pytest.raises(ValueError):
        await purge(log, 0)
    event = await purge(log, 3600)   # nothing is an hour old yet: a run that deleted nothing, on record
    assert event.kind == "purge"


async def test_the_retention_job_stops_when_a_cancel_was_swallowed_inside_a_purge(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """On Python 3.11 ``asyncio.wait_for`` returns the result, swallowing the cancel, when the cancel lands just
    as the store call finishes. The job must still stop, not sleep its hour (found under pytest-xdist: an app's
    shutdown hung on it)."""
    import asyncio
    import contextlib

    from middleware.audit import retention

    async def purge_that_swallows(audit: object, older_than: float) -> None:
        task = asyncio.current_task()
        assert task is not None
        task.cancel()   # the shutdown's cancel arrives during the purge ...
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(0)   # ... and is lost inside it, as wait_for loses it

    monkeypatch.setattr(retention, "purge", purge_that_swallows)
    job = asyncio.create_task(retention.run_retention(None, 60.0, every=3600.0))  # type: ignore[arg-type]
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(job, 10)
