"""The Python transport alone: a relay on Candor's own server and client stack that does nothing else.

What any proxy built like Candor pays before its first rule: uvicorn with uvloop and httptools (access log,
``server`` and ``date`` headers off, as ``candor serve`` runs it) takes the request, aiohttp (one pooled session,
no cookie jar, no decompression, as ``adapters/upstream/openai_compat.py`` sets it up) sends the body unchanged
to the stub, and the reply goes back unchanged: whole, or chunk by chunk as the stub streams it. No parsing, no
rule, no audit. ``python -m bench`` measures it beside Candor (``bench/phases.py``, "transport floor"), so a run
shows how much of Candor's added latency and CPU per request is the transport, and how much is Candor's work.

    BARE_RELAY_UPSTREAM=http://127.0.0.1:9100 BARE_RELAY_KEY=sk-stub \\
        python -m uvicorn bench.bare_relay:app --loop uvloop --http httptools --port 9200
"""

from __future__ import annotations

import os
from typing import Any

import aiohttp

_UPSTREAM = os.environ.get("BARE_RELAY_UPSTREAM", "http://127.0.0.1:9100").rstrip("/")
_HEADERS = {"content-type": "application/json",
            "authorization": f"Bearer {os.environ.get('BARE_RELAY_KEY', 'sk-stub')}"}
_JSON = [(b"content-type", b"application/json")]
_SSE = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]

_session: aiohttp.ClientSession | None = None


async def _lifespan(receive: Any, send: Any) -> None:
    global _session
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            _session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=512 + 16, limit_per_host=0),
                auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar())
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if _session is not None:
                await _session.close()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _body(receive: Any) -> bytes:
    parts = []
    while True:
        message = await receive()
        parts.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(parts)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["path"] != "/v1/chat/completions" or _session is None:
        # the bench waits for GET /healthz; anything else is not relayed
        status = 200 if scope["path"] == "/healthz" else 404
        await send({"type": "http.response.start", "status": status, "headers": _JSON})
        await send({"type": "http.response.body", "body": b'{"status":"ok"}' if status == 200 else b"{}"})
        return
    body = await _body(receive)
    async with _session.post(_UPSTREAM + "/v1/chat/completions", data=body, headers=_HEADERS) as reply:
        if not reply.headers.get("content-type", "").startswith("text/event-stream"):
            data = await reply.read()
            await send({"type": "http.response.start", "status": reply.status, "headers": _JSON})
            await send({"type": "http.response.body", "body": data})
            return
        await send({"type": "http.response.start", "status": reply.status, "headers": _SSE})
        async for chunk in reply.content.iter_any():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
