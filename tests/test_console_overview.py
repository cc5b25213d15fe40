"""The console's overview rollup over a real audit log (SQLite): counts per hour and per day, read
incrementally per stream, counted again after a retention purge, and the alert outcome of crises."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.root import audit_store as open_store
from middleware.audit.events import EventDraft, new_event_id
from middleware.audit.keys import AuditKeys
from middleware.audit.log import AuditLog, LogSettings
from middleware.console.overview import DAY_US, HOUR_US, Rollup, compute_overview, period_of


@pytest.fixture
async def log(tmp_path: Path) -> AsyncIterator[AuditLog]:
    store = open_store(f"sqlite:///{tmp_path}/audit.db")
    audit = await AuditLog.start(store, AuditKeys.generate(), LogSettings(spool_dir=tmp_path / "spool"))
    yield audit
    await audit.close()


def exchange(notices: tuple[str, ...] = (), label: str = "labelled", **kw: Any) -> EventDraft:
    return EventDraft(event_id=new_event_id(), kind="exchange", user_id="u1", session_id="s1",
                      notices=[{"kind": k, "text": "...", "display": "popup"} for k in notices],
                      decisions=[{"rule": "labels", "cites": ["LABEL-TEXT-1"], "outcome": label, "detail": {}}], **kw)


def refusal(code: str) -> EventDraft:
    return EventDraft(event_id=new_event_id(), kind="refusal", status=403, decisions=[
        {"rule": "refusal", "cites": [], "outcome": "refused", "detail": {"code": code, "message": "no"}}])


def crisis(level: str, category: str, alerted: bool) -> EventDraft:
    return EventDraft(event_id=new_event_id(), kind="crisis", user_id="u2", decisions=[
        {"rule": "crisis", "cites": ["ANTH-CRISIS-1"], "outcome": "replaced",
         "detail": {"level": level, "category": category, "alerted": alerted}}],
        notices=[{"kind": "crisis_support", "text": "...", "display": "popup"}])


def delivery(crisis_event_id: str, outcome: str, attempt: int) -> EventDraft:
    return EventDraft(event_id=new_event_id(), kind="alert_delivery", fail_mode="open", decisions=[
        {"rule": "alert_delivery", "cites": [], "outcome": outcome,
         "detail": {"alert_id": "alr_1", "event_id": crisis_event_id, "attempt": attempt}}])


def total(series: dict[str, list[int]]) -> dict[str, int]:
    return {name: sum(values) for name, values in series.items()}


async def test_counts_by_kind_code_notice_label_and_crisis(log: AuditLog) -> None:
    for draft in (exchange(("ai_disclosure",)), exchange(("usage_reminder",)), exchange(label="delegated"),
                  refusal("likeness_consent_required"), refusal("user_blocked"), refusal("user_blocked")):
        await log.append(draft)
    explicit = await log.append(crisis("explicit_intent", "self_harm", alerted=True))
    await log.append(crisis("distress", "emotional", alerted=False))
    out = await compute_overview(log.store, period_of(None, None, "day"))
    assert total(out["traffic"]) == {"exchange": 5, "refusal:likeness_consent_required": 1, "refusal:user_blocked": 2}
    assert total(out["notices"]) == {"ai_disclosure": 1, "usage_reminder": 1, "crisis_support": 2}
    assert total(out["labelling"]) == {"labelled": 2, "delegated": 1}
    assert total(out["crisis_levels"]) == {"explicit_intent": 1, "distress": 1}
    assert out["crisis_categories"] == {"self_harm": 1, "emotional": 1}
    assert out["alerts"] == {"delivered": 0, "pending": 1, "gave_up": 0}
    await log.append(delivery(explicit.event_id, "retry", 1))
    await log.append(delivery(explicit.event_id, "delivered", 2))
    out = await compute_overview(log.store, period_of(None, None, "day"))
    assert out["alerts"] == {"delivered": 1, "pending": 0, "gave_up": 0}
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert len(out["labels"]) == 8 and out["labels"][-1] == today     # 7 days back, rounded to whole days


async def test_each_refresh_reads_only_the_new_events(log: AuditLog) -> None:
    rollup = Rollup()
    for _ in range(5):
        await log.append(exchange())
    assert await rollup.refresh(log.store) == 6   # the five, and the stream's signed start record
    assert await rollup.refresh(log.store) == 0
    for _ in range(3):
        await log.append(exchange(("ai_disclosure",)))
    assert await rollup.refresh(log.store) == 3
    out = await rollup.figures(period_of(None, None, "hour"))
    assert total(out["traffic"]) == {"exchange": 8} and total(out["notices"]) == {"ai_disclosure": 3}
    assert len(out["labels"]) == 49 and sum(out["traffic"]["exchange"][-2:]) == 8   # all in the last hour or two


async def test_a_period_counts_only_its_own_buckets(log: AuditLog) -> None:
    rollup = Rollup()
    await log.append(exchange())
    await rollup.refresh(log.store)
    now = time.time_ns() // 1000
    earlier = await rollup.figures(period_of(now - 3 * DAY_US, now - 2 * DAY_US, "hour"))
    assert earlier["traffic"] == {} and earlier["totals"]["events"] == 0
    current = await rollup.figures(period_of(now - HOUR_US, now + 1, "hour"))
    assert total(current["traffic"]) == {"exchange": 1}


async def test_a_retention_purge_is_counted_again(log: AuditLog) -> None:
    rollup = Rollup()
    for _ in range(4):
        await log.append(exchange())
    await rollup.refresh(log.store)
    await asyncio.sleep(0.01)
    await log.purge(0.001)            # everything written before now is past retention
    await rollup.refresh(log.store)
    out = await rollup.figures(period_of(None, None, "day"))
    assert out["traffic"] == {} and out["totals"]["by_kind"].get("purge") == 1


def test_bad_periods_are_refused_clearly() -> None:
    with pytest.raises(ValueError, match="hour or day"):
        period_of(None, None, "week")
    with pytest.raises(ValueError, match="start before it ends"):
        period_of(10, 5, "day")
    with pytest.raises(ValueError, match="at most 2000"):
        period_of(0, 3000 * HOUR_US, "hour")
