"""CLI parity with the admin API (issue 15): ``persona enable|disable``, ``user list``, ``user erase``'s
confirmation, ``alerts list|show|retry`` and ``session release``, each change audited like the API's."""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
import time
from pathlib import Path

import pytest

from middleware.alerts.handover import Handover
from middleware.alerts.models import Alert
from middleware.cli.main import main
from middleware.composition import current
from middleware.config.deployment import load_config


def run(*argv: str) -> int:
    with pytest.raises(SystemExit) as done:
        main(list(argv))
    return int(done.value.code or 0)


@pytest.fixture
def config(tmp_path: Path) -> str:
    path = tmp_path / "candor.yaml"
    path.write_text(f"audit: {{url: 'sqlite:///{tmp_path}/audit.db'}}\n")
    return str(path)


def _events(config: str, kind: str) -> list[dict]:  # type: ignore[type-arg]
    db = sqlite3.connect(str(Path(config).parent / "audit.db"))
    try:
        return [json.loads(b) for (b,) in db.execute("select body from audit_events where kind = ?", (kind,))]
    finally:
        db.close()


def test_persona_enable_and_disable(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("--config", config, "persona", "add", "mei", "--name", "Mei", "--relationship", "friend") == 0
    assert run("--config", config, "persona", "disable", "mei") == 0
    assert run("--config", config, "persona", "show", "mei", "--json") == 0
    capsys.readouterr()
    assert run("--config", config, "persona", "enable", "mei") == 0
    assert "enabled persona mei" in capsys.readouterr().out
    assert run("--config", config, "persona", "show", "mei", "--json") == 0
    assert json.loads(capsys.readouterr().out)["enabled"] is True
    assert len(_events(config, "persona_change")) == 3   # add, disable, enable: each audited
    assert run("--config", config, "persona", "enable", "nobody") == 1


def test_user_list(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("--config", config, "user", "list") == 0
    assert "no user profiles" in capsys.readouterr().out
    for user in ("zoe", "adam"):
        assert run("--config", config, "user", "set", user, "--age-band", "adult") == 0
    capsys.readouterr()
    assert run("--config", config, "user", "list", "--json") == 0
    assert [u["user_id"] for u in json.loads(capsys.readouterr().out)] == ["adam", "zoe"]
    assert run("--config", config, "user", "list", "--after", "adam") == 0
    out = capsys.readouterr().out
    assert "zoe" in out and "adam" not in out


def test_user_erase_asks_unless_yes(config: str, capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))   # no terminal
    assert run("--config", config, "user", "erase", "alice") == 1
    assert "--yes" in capsys.readouterr().err
    assert not (Path(config).parent / "audit.db").exists()   # nothing was even opened

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Tty("bob\n"))   # typed the wrong id
    assert run("--config", config, "user", "erase", "alice") == 1
    assert not (Path(config).parent / "audit.db").exists()
    monkeypatch.setattr("sys.stdin", Tty("alice\n"))
    assert run("--config", config, "user", "erase", "alice") == 0 and len(_events(config, "erasure")) == 1
    assert run("--config", config, "user", "erase", "carol", "--yes") == 0


def _failed_alert(config: str) -> str:
    cfg = load_config(config)

    async def go() -> str:
        async with current().alert_outbox(cfg, None) as outbox:
            alert = await outbox.enqueue(Alert(kind="crisis", app_id="app-1", level="explicit_intent"))
            [entry] = await outbox.store.claim(time.time() + 60, 1, time.time() + 60, "test")
            await outbox.store.finish(entry.alert.id, "test", status="failed", attempts=3, at=time.time(),
                                      http_status=500, error="gave up", next_attempt_at=None)
            return alert.id

    return asyncio.run(go())


def test_alerts_list_show_retry(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    alert_id = _failed_alert(config)
    assert run("--config", config, "alerts", "list") == 0
    assert alert_id not in capsys.readouterr().out            # pending only, by default
    assert run("--config", config, "alerts", "list", "--status", "failed", "--json") == 0
    assert [a["id"] for a in json.loads(capsys.readouterr().out)] == [alert_id]
    assert run("--config", config, "alerts", "show", alert_id) == 0
    assert json.loads(capsys.readouterr().out)["delivery"]["status"] == "failed"
    assert run("--config", config, "alerts", "retry", alert_id) == 0
    assert run("--config", config, "alerts", "show", alert_id) == 0
    capsys.readouterr()
    assert run("--config", config, "alerts", "show", alert_id) == 0
    assert json.loads(capsys.readouterr().out)["delivery"]["status"] == "pending"
    [event] = [e for e in _events(config, "alert_delivery") if e["decisions"][0]["rule"] == "alert_retry"]
    assert event["decisions"][0]["detail"]["alert_id"] == alert_id
    assert run("--config", config, "alerts", "show", "no-such-alert") == 1
    assert run("--config", config, "alerts", "retry", "no-such-alert") == 1


def test_session_release(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = load_config(config)

    async def pause() -> None:
        async with current().handovers(cfg, None) as store:
            await store.pause(Handover(scope_hash="s", session_id="sess-1", app_id="app-1", event_id="ev-1",
                                       created_at=time.time()))

    asyncio.run(pause())
    assert run("--config", config, "session", "release", "sess-1") == 0
    assert "released session sess-1" in capsys.readouterr().out
    [event] = _events(config, "handover_release")
    assert event["decisions"][0]["detail"]["crisis_event_ids"] == ["ev-1"]
    assert run("--config", config, "session", "release", "sess-1") == 1   # nothing left to release
