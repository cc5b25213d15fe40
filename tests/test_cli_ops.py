"""The operator commands' own handlers (middleware/cli/ops.py), on in-memory stand-ins for the outbox, the
hand-over store and the audit log: what each prints, what it refuses (404, 409), and that a change is
audited before it is made. tests/test_ops_cli.py runs the same commands end to end through ``candor``."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from middleware.alerts.handover import Handover
from middleware.alerts.models import Alert, OutboxEntry
from middleware.audit.events import EventDraft
from middleware.cli import ops
from middleware.http.errors import CandorError


@dataclass
class Store:
    due: list[str] = field(default_factory=list)
    answer: bool = True

    async def retry_now(self, alert_id: str, now: float) -> bool:
        self.due.append(alert_id)
        return self.answer


@dataclass
class Outbox:
    entries: list[OutboxEntry]
    store: Store = field(default_factory=Store)
    asked: list[tuple[Any, int]] = field(default_factory=list)

    async def list(self, status: str | None, limit: int) -> list[OutboxEntry]:
        self.asked.append((status, limit))
        return [e for e in self.entries if status is None or e.status == status][:limit]

    async def get(self, alert_id: str) -> OutboxEntry | None:
        return next((e for e in self.entries if e.alert.id == alert_id), None)


@dataclass
class Audit:
    drafts: list[EventDraft] = field(default_factory=list)
    fail: bool = False

    async def append(self, draft: EventDraft) -> None:
        if self.fail:
            raise RuntimeError("the audit log is down")
        self.drafts.append(draft)


def entry(alert_id: str, status: str, attempts: int = 1, error: str | None = None) -> OutboxEntry:
    alert = Alert(id=alert_id, kind="crisis", app_id="app-1")
    return OutboxEntry(alert=alert, body=alert.body(), status=status, attempts=attempts,  # type: ignore[arg-type]
                       next_attempt_at=None, last_error=error)


def ns(**kw: Any) -> argparse.Namespace:
    return argparse.Namespace(**kw)


async def test_list_prints_one_line_per_alert_or_json(capsys: pytest.CaptureFixture[str]) -> None:
    box = Outbox([entry("a-1", "failed", 3, "503"), entry("a-2", "pending")])
    await ops._list(box, ns(status="failed", limit=10, json=False))  # type: ignore[arg-type]
    out = capsys.readouterr().out
    assert out.splitlines() == ["a-1\tcrisis\tfailed\tattempts: 3\tlast error: 503"]
    await ops._list(box, ns(status="all", limit=5, json=True))  # type: ignore[arg-type]
    assert [a["id"] for a in json.loads(capsys.readouterr().out)] == ["a-1", "a-2"]
    assert box.asked == [("failed", 10), (None, 5)]   # "all" asks the store for every status
    await ops._list(Outbox([]), ns(status="pending", limit=1, json=False))  # type: ignore[arg-type]
    assert capsys.readouterr().out.strip() == "no pending alerts"


async def test_show_prints_the_delivery_state_or_404s(capsys: pytest.CaptureFixture[str]) -> None:
    box = Outbox([entry("a-1", "failed", 2)])
    await ops._show(box, ns(id="a-1"))  # type: ignore[arg-type]
    shown = json.loads(capsys.readouterr().out)
    assert shown["id"] == "a-1" and shown["delivery"]["attempts"] == 2
    with pytest.raises(CandorError) as err:
        await ops._show(box, ns(id="nope"))  # type: ignore[arg-type]
    assert (err.value.status, err.value.code) == (404, "alert_not_found")


async def test_retry_is_audited_then_made_due(capsys: pytest.CaptureFixture[str]) -> None:
    box, audit = Outbox([entry("a-1", "failed", 4)]), Audit()
    await ops._retry((box, audit), ns(id="a-1"))  # type: ignore[arg-type]
    assert box.store.due == ["a-1"]
    d = audit.drafts[0]
    assert d.kind == "alert_delivery" and d.app_id == "app-1" and d.fail_mode == "closed"
    decision = d.decisions[0]
    assert decision["rule"] == "alert_retry" and decision["outcome"] == "requeued"
    assert decision["detail"]["previous_status"] == "failed" and decision["detail"]["attempts"] == 4
    assert decision["detail"]["actor"].startswith("cli")
    assert "pending again" in capsys.readouterr().out


async def test_retry_refuses_a_delivered_or_unknown_alert_and_makes_no_change_it_could_not_record() -> None:
    box, audit = Outbox([entry("done", "delivered"), entry("a-1", "failed")]), Audit()
    for alert_id, status in (("done", 409), ("nope", 404)):
        with pytest.raises(CandorError) as err:
            await ops._retry((box, audit), ns(id=alert_id))  # type: ignore[arg-type]
        assert err.value.status == status
    assert audit.drafts == [] and box.store.due == []
    with pytest.raises(RuntimeError):
        await ops._retry((box, Audit(fail=True)), ns(id="a-1"))  # type: ignore[arg-type]
    assert box.store.due == []   # the record failed first: the alert was not touched
    box.store.answer = False    # delivered meanwhile
    with pytest.raises(CandorError) as err:
        await ops._retry((box, audit), ns(id="a-1"))  # type: ignore[arg-type]
    assert err.value.code == "alert_delivered"


async def test_release_audits_the_ended_hand_overs_or_404s(capsys: pytest.CaptureFixture[str]) -> None:
    class Handovers:
        def __init__(self) -> None:
            self.calls: list[tuple[str, str | None, str]] = []

        async def release(self, session_id: str, app_id: str | None, actor: str, at: float) -> list[Handover]:
            self.calls.append((session_id, app_id, actor))
            return [Handover("h", session_id, app_id, "evt-crisis", at)] if session_id == "s-1" else []

    store, audit = Handovers(), Audit()
    await ops._release((store, audit), ns(session="s-1", app="app-1"))  # type: ignore[arg-type]
    assert store.calls[0][:2] == ("s-1", "app-1")
    d = audit.drafts[0]
    assert d.kind == "handover_release" and d.session_id == "s-1"
    assert d.decisions[0]["detail"]["crisis_event_ids"] == ["evt-crisis"]
    assert "released session s-1: 1 hand-over(s)" in capsys.readouterr().out
    with pytest.raises(CandorError) as err:
        await ops._release((store, audit), ns(session="s-2", app=None))  # type: ignore[arg-type]
    assert (err.value.status, err.value.code) == (404, "session_not_paused") and len(audit.drafts) == 1


def test_the_parser_defaults_and_choices() -> None:
    parser = argparse.ArgumentParser()
    ops.add_ops_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["alerts", "list"])
    assert (args.status, args.limit, args.json) == ("pending", 100, False) and not hasattr(args, "store")
    assert parser.parse_args(["alerts", "list", "--store", "sqlite:///x.db"]).store == "sqlite:///x.db"
    with pytest.raises(SystemExit):
        parser.parse_args(["alerts", "list", "--status", "bogus"])
    assert parser.parse_args(["session", "release", "s-9", "--app", "a"]).app == "a"
