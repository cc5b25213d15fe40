"""``candor audit verify|export|report|purge`` and ``candor user erase``: exit codes and output."""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from middleware.audit.cli import add_audit_commands, add_user_erase_command, parse_time
from middleware.audit.log import AuditLog
from middleware.config.deployment import CandorConfig, load_config
from tests.test_audit_support import Backend, backend_fixture, draft  # noqa: F401


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="candor")
    parser.add_argument("--config")
    sub = parser.add_subparsers(dest="command", required=True)
    add_audit_commands(sub)
    user = sub.add_parser("user").add_subparsers(dest="user_command", required=True)
    add_user_erase_command(user)
    args = parser.parse_args(list(argv))
    rc: int = args.func(args)
    return rc


@pytest.fixture(name="config")
def config_fixture(backend: Backend) -> Path:
    path = backend.tmp / "candor.yaml"
    path.write_text(yaml.safe_dump({"audit": {"url": backend.url, "key_dir": str(backend.tmp / "keys"),
                                              "generate_keys": True, "checkpoint_every": 4}}))
    return path


def populate(cfg_path: Path) -> dict[str, Any]:
    cfg: CandorConfig = load_config(cfg_path)

    async def go() -> dict[str, Any]:
        log = await AuditLog.open(cfg)
        out: dict[str, Any] = {}
        out["a"] = [await log.append(draft(i, user="alice", session="sa", content={"reply": f"a{i}"}))
                    for i in range(3)]
        out["b"] = [await log.append(draft(i, user="bob", session="sb", content={"reply": f"b{i}"}))
                    for i in range(2)]
        out["refusal"] = await log.append(draft(
            0, kind="refusal", user="minnie", session="sm",
            decisions=[{"rule": "minors", "cites": ["ANTH-MINOR-1"], "outcome": "blocked",
                        "detail": {"code": "persona_not_allowed_for_minor", "age_band": "minor"}}]))
        out["crisis"] = await log.append(draft(
            0, kind="crisis", user="bob", session="sb",
            decisions=[{"rule": "crisis", "cites": ["ANTH-CRISIS-1"], "outcome": "replaced",
                        "detail": {"level": "explicit_intent", "alerted": True, "handover": False}}]))
        await log.close()
        return out

    return asyncio.run(go())


def test_verify_exit_0_on_an_intact_log(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    populate(config)
    assert run("--config", str(config), "audit", "verify") == 0
    assert "audit log intact" in capsys.readouterr().out
    assert run("--config", str(config), "audit", "verify", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is True and data["events"] >= 7 and data["checkpoints"] >= 2


def test_verify_exit_1_names_the_first_bad_event(config: Path, backend: Backend,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    ev = populate(config)["a"][1]
    asyncio.run(backend.sql("UPDATE audit_events SET body = replace(body, '\"status\":200', '\"status\":201') "
                            "WHERE event_id = ?", ev.event_id))
    assert run("--config", str(config), "audit", "verify") == 1
    out = capsys.readouterr().out
    assert "TAMPERED" in out and ev.event_id in out and "hash mismatch" in out
    assert run("--config", str(config), "audit", "verify", "--json") == 1
    first = json.loads(capsys.readouterr().out)["first_problem"]
    assert first["event_id"] == ev.event_id and first["seq"] == ev.seq


def test_verify_exit_2_on_an_unusable_store(tmp_path: Path, config: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    populate(config)  # keys exist, so only the store is wrong
    assert run("--config", str(config), "audit", "verify", "--store", f"sqlite:///{tmp_path}/nothing.db") == 2
    assert run("--config", str(config), "audit", "verify", "--store", "postgresql://postgres@127.0.0.1:1/test") == 2
    assert "cannot read the audit store" in capsys.readouterr().err
    assert run("--config", str(config), "audit", "verify", "--public-key", str(tmp_path / "missing.pub")) == 2


def test_export_filters_and_formats(config: Path, tmp_path: Path) -> None:
    ev = populate(config)
    out = tmp_path / "alice.jsonl"
    assert run("--config", str(config), "audit", "export", "--user", "alice", "--out", str(out)) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["event_id"] for r in rows] == [e.event_id for e in ev["a"]]
    assert [r["content"] for r in rows] == [{"reply": "a0"}, {"reply": "a1"}, {"reply": "a2"}]
    assert "alice" not in out.read_text()  # users appear as pseudonyms only

    assert run("--config", str(config), "audit", "export", "--session", "sb", "--kind", "crisis",
               "--format", "csv", "--out", str(out)) == 0
    table = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["event_id"] for r in table] == [ev["crisis"].event_id]
    assert json.loads(table[0]["decisions"])[0]["detail"]["level"] == "explicit_intent"

    assert run("--config", str(config), "audit", "export", "--since", "1h", "--until", "2000-01-01",
               "--out", str(out)) == 0
    assert out.read_text() == ""


def test_user_erase_then_export_shows_erased_and_verify_passes(config: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    populate(config)
    assert run("--config", str(config), "user", "erase", "alice", "--yes") == 0
    assert "1 data key(s) destroyed, 3 content record(s) deleted" in capsys.readouterr().out
    out = tmp_path / "x.jsonl"
    assert run("--config", str(config), "audit", "export", "--user", "alice", "--out", str(out)) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["content"] for r in rows if r["kind"] == "exchange"] == ["erased"] * 3
    assert rows[-1]["kind"] == "erasure"
    assert run("--config", str(config), "audit", "verify") == 0


def test_purge_command_then_verify(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    populate(config)
    assert run("--config", str(config), "audit", "purge") == 0  # default 190d: nothing that old
    assert "purged 0 events older than 190d" in capsys.readouterr().out
    assert run("--config", str(config), "audit", "purge", "--older-than", "1ms") == 0
    assert "purged 1" in capsys.readouterr().out
    assert run("--config", str(config), "audit", "verify") == 0


def test_report_figures(config: Path, tmp_path: Path) -> None:
    populate(config)
    out = tmp_path / "report.json"
    assert run("--config", str(config), "audit", "report", "--format", "json", "--out", str(out)) == 0
    r = json.loads(out.read_text())
    assert r["users"]["seen_all_time"]["value"] == 2  # alice and bob used the service; the refused minor did not
    assert r["users"]["seen_all_time"]["threshold"] == 1_000_000
    assert r["users"]["monthly_active_last_30_days"] == {"value": 2, "threshold": 100_000, "ratio": 0.0,
                                                         "status": "ok"}
    assert r["refusals"]["by_code"] == {"persona_not_allowed_for_minor": 1}
    assert r["crisis"] == {"detections": 1, "by_level": {"explicit_intent": 1}, "alerts": 1, "handovers": 0,
                           "alerts_delivered": 0, "alerts_given_up": 0, "alert_delivery_attempts": 0,
                           "alerts_pending": 1}
    assert r["age_structure"]["users"] == {"adult": 2, "unknown": 0}
    assert r["age_structure"]["events"]["minor"] == 1
    assert r["notices"]["by_kind"] == {"ai_disclosure": 7}
    assert r["usage"]["sessions"] == 2
    md = tmp_path / "report.md"
    assert run("--config", str(config), "audit", "report", "--since", "1d", "--out", str(md)) == 0
    text = md.read_text()
    assert "# Candor compliance report" in text and "| persona_not_allowed_for_minor | 1 |" in text
    assert "monthly active users (last 30 days) | 2 | 100,000" in text


def test_time_arguments() -> None:
    assert parse_time("2026-03-01") == 1772323200 * 1_000_000
    assert parse_time("2026-03-01T00:00:00Z") == 1772323200 * 1_000_000
    assert parse_time("7d", now=1_000_000.0) == (1_000_000 - 7 * 86400) * 1_000_000
    with pytest.raises(argparse.ArgumentTypeError):
        parse_time("last tuesday")
