"""Webhook signatures: the receiver can tell an alert came from this Candor and was not replayed.

The scheme (documented for receivers in the README and ``examples/alert_receiver.py``):

- ``X-Candor-Timestamp: <t>``: Unix time in whole seconds when the request was signed;
- ``X-Candor-Signature: sha256=<hex>``: lower-case hex of HMAC-SHA256, keyed with the shared secret
  (the UTF-8 bytes of the value of ``$CANDOR_WEBHOOK_SECRET``, or whichever variable
  ``alerts.secret_env`` names), over the bytes ``<t>`` + ``.`` + the raw request body.

A receiver recomputes the HMAC over the body exactly as received (before any JSON parsing),
compares in constant time, and refuses a timestamp more than five minutes from its own clock. The
timestamp is inside the signed bytes, so an old request cannot be replayed with a fresh timestamp;
within the five minutes, the alert ``id`` (also in ``X-Candor-Alert-Id``) lets it drop duplicates,
which it must do anyway: delivery is at least once.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

SIGNATURE_HEADER = "X-Candor-Signature"
TIMESTAMP_HEADER = "X-Candor-Timestamp"
ALERT_ID_HEADER = "X-Candor-Alert-Id"
ATTEMPT_HEADER = "X-Candor-Delivery-Attempt"
TOLERANCE = 300.0


class SignatureError(ValueError):
    """Why a request's signature was refused."""


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """The ``X-Candor-Signature`` value for ``body`` signed at ``timestamp``."""
    mac = hmac.new(secret, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_headers(secret: bytes, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = int(time.time() if now is None else now)
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature(secret, timestamp, body)}


def verify(secret: bytes, headers: Mapping[str, str], body: bytes, *, now: float | None = None,
           tolerance: float = TOLERANCE) -> int:
    """Check a received request; return its timestamp, or raise SignatureError saying why not.
    ``headers`` must look names up case-insensitively (Starlette's and httpx's headers do)."""
    raw_ts = headers.get(TIMESTAMP_HEADER)
    given = headers.get(SIGNATURE_HEADER)
    if not raw_ts or not given:
        raise SignatureError(f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER}")
    if not raw_ts.isdigit():
        raise SignatureError(f"{TIMESTAMP_HEADER} is not a Unix time in seconds")
    timestamp = int(raw_ts)
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise SignatureError(f"timestamp {timestamp} is more than {tolerance:.0f} s from now: replayed or clock skew")
    if not hmac.compare_digest(given.encode("ascii", "replace"), signature(secret, timestamp, body).encode("ascii")):
        raise SignatureError("signature does not match: wrong secret, or the body was altered")
    return timestamp
