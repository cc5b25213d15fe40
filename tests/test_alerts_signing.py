"""The webhook signature scheme: what Candor sends, checked against an independent HMAC computation,
and what ``verify`` refuses."""

from __future__ import annotations

import hashlib
import hmac

import httpx
import pytest

from adapters.alerts.webhook import WebhookSender
from middleware.alerts.models import Alert
from middleware.alerts.signing import SignatureError, signature, signed_headers, verify

SECRET = b"topsecret"
BODY = b'{"object":"candor.alert","id":"alr_1"}'


def test_signature_matches_the_documented_scheme() -> None:
    # HMAC-SHA256 over "<timestamp>.<raw body>", hex, prefixed "sha256="
    expected = hmac.new(SECRET, b"1767225600." + BODY, hashlib.sha256).hexdigest()
    assert signature(SECRET, 1767225600, BODY) == f"sha256={expected}"
    headers = signed_headers(SECRET, BODY, now=1767225600.9)
    assert headers == {"X-Candor-Timestamp": "1767225600", "X-Candor-Signature": f"sha256={expected}"}


def test_verify_accepts_a_fresh_genuine_request() -> None:
    headers = httpx.Headers(signed_headers(SECRET, BODY, now=1000.0))
    assert verify(SECRET, headers, BODY, now=1100.0) == 1000


@pytest.mark.parametrize(("secret", "body", "now", "why"), [
    (b"wrong", BODY, 1000.0, "does not match"),
    (SECRET, BODY + b" ", 1000.0, "does not match"),
    (SECRET, BODY, 1000.0 + 301, "replayed"),
    (SECRET, BODY, 1000.0 - 301, "replayed"),
])
def test_verify_refuses(secret: bytes, body: bytes, now: float, why: str) -> None:
    headers = httpx.Headers(signed_headers(SECRET, BODY, now=1000.0))
    with pytest.raises(SignatureError, match=why):
        verify(secret, headers, body, now=now)


def test_a_fresh_timestamp_cannot_be_grafted_onto_an_old_signature() -> None:
    old = signed_headers(SECRET, BODY, now=1000.0)
    replay = httpx.Headers({**old, "X-Candor-Timestamp": "5000"})
    with pytest.raises(SignatureError, match="does not match"):
        verify(SECRET, replay, BODY, now=5000.0)


def test_verify_refuses_missing_or_malformed_headers() -> None:
    with pytest.raises(SignatureError, match="missing"):
        verify(SECRET, httpx.Headers({}), BODY)
    with pytest.raises(SignatureError, match="Unix time"):
        verify(SECRET, httpx.Headers({"X-Candor-Timestamp": "-5", "X-Candor-Signature": "sha256=00"}), BODY)


async def test_webhook_sender_signs_the_exact_bytes_it_posts() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202)

    sender = WebhookSender("https://alerts.example/hook", lambda: SECRET, transport=httpx.MockTransport(handler))
    body = Alert(kind="crisis", id="alr_x").body()
    result = await sender.send("alr_x", body, 3)
    await sender.close()
    assert result.ok and result.status == 202 and result.error is None
    request = seen[0]
    assert request.content == body and request.method == "POST"
    assert verify(SECRET, request.headers, request.content) > 0
    assert request.headers["x-candor-alert-id"] == "alr_x" and request.headers["x-candor-delivery-attempt"] == "3"


async def test_sender_reports_http_errors_and_a_missing_secret_without_raising() -> None:
    sender = WebhookSender("https://alerts.example/hook", lambda: SECRET,
                           transport=httpx.MockTransport(lambda r: httpx.Response(401, text="bad signature")))
    result = await sender.send("a", BODY, 1)
    assert not result.ok and result.status == 401 and "bad signature" in (result.error or "")
    await sender.close()

    def no_secret() -> bytes:
        raise RuntimeError("$CANDOR_WEBHOOK_SECRET was unset")

    sender = WebhookSender("https://alerts.example/hook", no_secret,
                           transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    result = await sender.send("a", BODY, 1)
    assert not result.ok and result.status is None and "unset" in (result.error or "")
    await sender.close()
    with pytest.raises(ValueError, match="http"):
        WebhookSender("ftp://x", lambda: SECRET)
