"""``candor audit export --bundle`` and ``verify --bundle --public-key``: offline, and one changed byte fails."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from tests.test_audit_cli import config_fixture, populate, run  # noqa: F401
from tests.test_audit_support import Backend, backend_fixture  # noqa: F401


def bundle_of(config: Path, tmp: Path) -> Path:
    populate(config)
    out = tmp / "evidence.bundle"
    assert run("--config", str(config), "audit", "export", "--bundle", str(out)) == 0
    return out


def test_bundle_verifies_offline_with_only_the_public_key(config: Path, backend: Backend, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = bundle_of(config, tmp_path)
    pub = tmp_path / "keys" / "audit-signing.pub"
    offline = tmp_path / "auditor"
    offline.mkdir()
    (offline / "evidence.bundle").write_bytes(out.read_bytes())
    (offline / "pub.pem").write_bytes(pub.read_bytes())
    asyncio.run(backend.sql("DELETE FROM audit_events"))   # the deployment is gone: the copy stands alone
    capsys.readouterr()
    assert run("audit", "verify", "--bundle", str(offline / "evidence.bundle"), "--public-key",
               str(offline / "pub.pem"), "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is True and data["events"] >= 9 and data["streams"] == 1


@pytest.mark.parametrize("where", ["header", "middle", "trailer"])
def test_one_changed_byte_fails(config: Path, tmp_path: Path, where: str,
                                capsys: pytest.CaptureFixture[str]) -> None:
    out = bundle_of(config, tmp_path)
    data = bytearray(out.read_bytes())
    lines = data.split(b"\n")
    index = {"header": len(lines[0]) // 2, "middle": len(data) // 2, "trailer": len(data) - 20}[where]
    data[index] = data[index] ^ 0x01 if chr(data[index] ^ 0x01).isprintable() else data[index] ^ 0x02
    out.write_bytes(bytes(data))
    capsys.readouterr()
    rc = run("audit", "verify", "--bundle", str(out), "--public-key", str(tmp_path / "keys" / "audit-signing.pub"))
    text = capsys.readouterr()
    assert rc in (1, 2) and rc != 0, text
    assert "TAMPERED" in text.out or "not a Candor audit bundle" in text.err


def test_bundle_signed_by_another_key_fails(config: Path, tmp_path: Path) -> None:
    out = bundle_of(config, tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    from middleware.audit.keys import AuditKeys, public_pem

    (other / "pub.pem").write_bytes(public_pem(AuditKeys.generate().public))
    assert run("audit", "verify", "--bundle", str(out), "--public-key", str(other / "pub.pem")) == 1


def test_bundle_refuses_filters_and_needs_a_public_key(config: Path, tmp_path: Path) -> None:
    populate(config)
    assert run("--config", str(config), "audit", "export", "--bundle", str(tmp_path / "b"), "--session", "sa") == 2
    out = bundle_of(config, tmp_path)
    assert run("audit", "verify", "--bundle", str(out)) == 2
    assert run("audit", "verify", "--bundle", str(tmp_path / "missing"), "--public-key",
               str(tmp_path / "keys" / "audit-signing.pub")) == 2
    assert not os.path.exists(tmp_path / "b") or os.path.getsize(tmp_path / "b") == 0
