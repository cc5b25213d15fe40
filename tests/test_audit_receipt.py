"""``candor audit receipt`` and ``verify --receipt``: the log must still extend what the auditor kept."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import orjson
import pytest

from middleware.audit.keys import load_keys
from middleware.config.deployment import load_config
from tests.test_audit_cli import config_fixture, populate, run  # noqa: F401
from tests.test_audit_support import Backend, backend_fixture  # noqa: F401
from tests.test_audit_tamper import resign_rewrite


def test_receipt_then_insider_rewrite_with_the_host_key_fails_verify(
        config: Path, backend: Backend, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    crisis = populate(config)["crisis"]
    receipt = tmp_path / "receipt.json"
    assert run("--config", str(config), "audit", "receipt", "--out", str(receipt)) == 0
    data = json.loads(receipt.read_text())
    assert data["type"] == "candor_audit_receipt" and data["streams"][0]["stream"] == crisis.stream
    assert run("--config", str(config), "audit", "verify", "--receipt", str(receipt)) == 0

    keys = load_keys(load_config(config), create=False)   # the insider uses the host's own key
    asyncio.run(resign_rewrite(backend, keys, crisis.stream, crisis.seq,
                               lambda ev: ev["decisions"][0]["detail"].update(alerted=False)))
    capsys.readouterr()
    assert run("--config", str(config), "audit", "verify") == 0   # alone, the database cannot tell
    out = capsys.readouterr().out
    assert "not ruled out" in out and "no receipt compared" in out
    assert run("--config", str(config), "audit", "verify", "--receipt", str(receipt)) == 1
    out = capsys.readouterr().out
    assert "TAMPERED" in out and crisis.stream in out and "receipt" in out


def test_changed_receipt_is_unusable(config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    populate(config)
    receipt = tmp_path / "receipt.json"
    assert run("--config", str(config), "audit", "receipt", "--out", str(receipt)) == 0
    data = orjson.loads(receipt.read_bytes())
    data["streams"][0]["seq"] -= 1
    receipt.write_bytes(orjson.dumps(data))
    assert run("--config", str(config), "audit", "verify", "--receipt", str(receipt)) == 2
    assert "signature does not hold" in capsys.readouterr().err


def test_no_receipt_for_a_tampered_log(config: Path, backend: Backend, tmp_path: Path) -> None:
    ev = populate(config)["a"][0]
    asyncio.run(backend.sql("UPDATE audit_events SET body = replace(body, '\"status\":200', '\"status\":201') "
                            "WHERE event_id = ?", ev.event_id))
    assert run("--config", str(config), "audit", "receipt", "--out", str(tmp_path / "r.json")) == 1
    assert not (tmp_path / "r.json").exists()


def test_export_cli_refuses_unknown_options_and_kinds(config: Path) -> None:
    populate(config)
    with pytest.raises(SystemExit) as exc:
        run("--config", str(config), "audit", "export", "--sesion", "sa")
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        run("--config", str(config), "audit", "export", "--kind", "exchange,chat")
    assert exc.value.code == 2
