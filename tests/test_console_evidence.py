"""Evidence from the console (middleware/console/integrity_pages.py): a signed receipt to keep and the
whole log as an offline bundle, both checked with the audit module's own verifiers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from middleware.audit.bundle import verify_bundle
from middleware.audit.receipt import load_receipt
from tests.console_support import AUDITOR, World, console_world
from tests.stubs import StubProvider
from tests.test_console_security import csrf_of, signed_in


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, stub: StubProvider) -> Iterator[World]:
    with console_world(tmp_path_factory.mktemp("console-evidence"), stub, None) as w:
        w.chat("evidence-user", "你好")
        yield w


def test_an_auditor_downloads_a_signed_receipt_of_every_stream(world: World, tmp_path: Path) -> None:
    client = signed_in(world, AUDITOR)
    resp = client.post("/console/integrity/receipt", data={"csrf": csrf_of(client)})
    assert resp.status_code == 200 and "attachment" in resp.headers["content-disposition"]
    path = tmp_path / "receipt.json"
    path.write_bytes(resp.content)
    receipt, points = load_receipt(path)   # raises unless the signature holds
    assert points and receipt["events"] >= 1
    assert client.post("/console/integrity/receipt", data={}).status_code == 403   # CSRF, like every write


def test_the_bundle_verifies_offline_and_one_changed_byte_fails(world: World, tmp_path: Path) -> None:
    client = signed_in(world, AUDITOR)
    resp = client.get("/console/export.bundle")
    assert resp.status_code == 200
    bundle = tmp_path / "evidence.bundle"
    bundle.write_bytes(resp.content)
    header = orjson.loads(resp.content.split(b"\n", 1)[0])
    receipt = client.post("/console/integrity/receipt", data={"csrf": csrf_of(client)}).json()
    keys = {header["key_id"]: Ed25519PublicKey.from_public_bytes(bytes.fromhex(receipt["public_key"]))}
    assert asyncio.run(verify_bundle(bundle, keys)).ok
    tampered = bytearray(resp.content)
    tampered[len(tampered) // 2] ^= 0x01
    bundle.write_bytes(bytes(tampered))
    assert not asyncio.run(verify_bundle(bundle, keys)).ok
