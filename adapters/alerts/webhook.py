"""Alert delivery over HTTP: one signed JSON POST per attempt, with ``httpx.AsyncClient``.

Besides the model provider, this is the only place Candor opens a connection. The client ignores
proxy environment variables (``trust_env=False``): alerts carry contact details and go to the
configured webhook only. Redirects are not followed, so an alert is never re-sent to a URL the
operator did not configure. The secret is read at every attempt, so a rotated secret takes effect
without a restart.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from middleware.alerts.signing import ALERT_ID_HEADER, ATTEMPT_HEADER, signed_headers
from middleware.alerts.store import SendResult

USER_AGENT = "candor-alerts/1"


class WebhookSender:
    def __init__(self, url: str, secret: Callable[[], bytes], *, timeout: float = 5.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"alerts.webhook_url must be an http:// or https:// URL, not {url!r}")
        self.url = url
        self._secret = secret
        self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False,
                                         transport=transport)

    async def send(self, alert_id: str, body: bytes, attempt: int) -> SendResult:
        started = time.perf_counter()
        try:
            secret = self._secret()
            headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, ALERT_ID_HEADER: alert_id,
                       ATTEMPT_HEADER: str(attempt), **signed_headers(secret, body)}
            response = await self._client.post(self.url, content=body, headers=headers)
        except Exception as exc:  # timeouts, refused connections, a missing secret: a failed attempt
            return SendResult(None, f"{type(exc).__name__}: {exc}"[:500], _ms(started))
        error = None if response.is_success else f"HTTP {response.status_code}: {response.text[:200]}"
        return SendResult(response.status_code, error, _ms(started))

    async def close(self) -> None:
        await self._client.aclose()


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
