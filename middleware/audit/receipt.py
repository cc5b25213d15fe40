"""Receipts: a signed statement of every stream's head, for an auditor to keep off the host.

``candor audit receipt`` verifies the log and, only when it is intact, signs ``{"streams": [{"stream",
"seq", "hash"}...]}`` with the log's key. Later, ``candor audit verify --receipt FILE`` demands that
the log still *extends* the receipt: every (stream, seq) it names still exists with the same hash.
That holds whoever re-signed the log since: an insider with the host's key can rewrite and re-sign
every checkpoint, but cannot make a rewritten event hash to what the auditor already holds. This is
Certificate Transparency's consistency idea reduced to hash chains.

The receipt's own signature (with the public key it embeds) only shows the file is undamaged; its
evidential value is that the auditor kept it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from middleware.audit.events import canonical_json, format_ts
from middleware.audit.keys import AuditKeys, key_id, verify_signature
from middleware.audit.verify import VerifyResult

RECEIPT_TYPE = "candor_audit_receipt"


class ReceiptError(Exception):
    """The receipt file cannot be used (unreadable, not a receipt, signature broken)."""


def make_receipt(result: VerifyResult, keys: AuditKeys, now: float | None = None) -> dict[str, Any]:
    """A signed receipt of the heads ``result`` walked (the caller checks ``result.ok`` first)."""
    raw = keys.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    body: dict[str, Any] = {
        "type": RECEIPT_TYPE, "version": 1, "created": format_ts(time.time() if now is None else now),
        "key_id": keys.key_id, "public_key": raw.hex(), "events": result.events,
        "streams": [{"stream": s, "seq": seq, "hash": h} for s, (seq, h) in sorted(result.heads.items())],
    }
    return {**body, "sig": keys.sign(canonical_json(body))}


def dump_receipt(receipt: dict[str, Any]) -> bytes:
    return orjson.dumps(receipt, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def load_receipt(path: Path) -> tuple[dict[str, Any], list[tuple[str, int, str, str]]]:
    """The receipt and its points (stream, seq, hash, where) for ``verify_store``."""
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ReceiptError(f"cannot read the receipt {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("type") != RECEIPT_TYPE or not isinstance(data.get("streams"), list):
        raise ReceiptError(f"{path} is not a Candor audit receipt")
    body = {k: v for k, v in data.items() if k != "sig"}
    try:
        public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(str(data.get("public_key"))))
    except ValueError:
        raise ReceiptError(f"{path}: the receipt's public key is malformed") from None
    if key_id(public) != data.get("key_id") or not verify_signature(public, str(data.get("sig")),
                                                                   canonical_json(body)):
        raise ReceiptError(f"{path}: the receipt's signature does not hold: the file was changed")
    where = f"receipt {path.name} of {data.get('created')}"
    points = []
    for item in data["streams"]:
        try:
            points.append((str(item["stream"]), int(item["seq"]), str(item["hash"]), where))
        except (KeyError, TypeError, ValueError):
            raise ReceiptError(f"{path}: malformed stream entry {item!r}") from None
    return data, points
