"""The OpenAI-compatible pass-through (adapters/upstream/openai_compat.py) against httpx's MockTransport, and
the provider-error mapping it uses (middleware/pipeline/upstream.py)."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from adapters.upstream.openai_compat import OpenAICompatibleUpstream
from middleware.pipeline.upstream import (
    ModelRoute,
    UpstreamFailure,
    UpstreamRequest,
    UpstreamTimeout,
    failure_for_status,
)

ROUTE = ModelRoute(name="m", adapter="passthrough", target="openai/x", upstream_model="x",
                   api_base="http://provider.test/v1", api_key="sk-test", timeout=2.0, connect_timeout=1.0)


def _upstream(handler: Any) -> OpenAICompatibleUpstream:
    return OpenAICompatibleUpstream(httpx.AsyncClient(transport=httpx.MockTransport(handler)))


async def _collect(up: OpenAICompatibleUpstream, stream: bool) -> list[Any]:
    body = {"model": "x", "messages": [{"role": "user", "content": "hi"}], "stream": stream}
    return [item async for item in up.chat(UpstreamRequest(route=ROUTE, body=body, stream=stream))]


async def test_a_completion_is_relayed_with_the_key() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "c", "choices": [{"index": 0, "message": {"content": "ok"}}]})

    items = await _collect(_upstream(handler), False)
    assert items[0]["choices"][0]["message"]["content"] == "ok"
    assert seen[0].headers["authorization"] == "Bearer sk-test" and seen[0].url.path == "/v1/chat/completions"


async def test_sse_is_relayed_event_by_event_until_done() -> None:
    chunks = [{"id": "c", "choices": [{"index": 0, "delta": {"content": t}}]} for t in ("a", "b")]
    raw = b"".join(b"data: " + orjson.dumps(c) + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=raw, headers={"content-type": "text/event-stream"})

    items = await _collect(_upstream(handler), True)
    flat = [i for item in items for i in (item if isinstance(item, list) else [item])]
    assert [c["choices"][0]["delta"]["content"] for c in flat] == ["a", "b"]


async def test_a_stream_without_done_is_a_failure_not_a_silent_cut() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b'data: {"choices": []}\n\n', headers={"content-type": "text/event-stream"})

    with pytest.raises(UpstreamFailure, match="DONE"):
        await _collect(_upstream(handler), True)


@pytest.mark.parametrize(("status", "code"), [(401, "upstream_error"), (429, "upstream_rate_limited"),
                                              (500, "upstream_error")])
async def test_provider_errors_map_to_what_the_app_should_see(status: int, code: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"error": {"message": "provider says no"}})

    with pytest.raises(UpstreamFailure) as caught:
        await _collect(_upstream(handler), False)
    assert caught.value.code == code and "provider says no" in caught.value.message
    assert failure_for_status(ROUTE, status, "x").code == code


async def test_a_slow_provider_is_a_timeout() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(UpstreamTimeout):
        await _collect(_upstream(handler), False)


async def test_a_body_that_is_not_json_is_a_failure() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<html>")

    with pytest.raises(UpstreamFailure, match="not JSON"):
        await _collect(_upstream(handler), False)


async def test_cookies_a_provider_sets_are_never_sent_back() -> None:
    """One session serves every user: a cookie the provider sets on one user's request (a load balancer's, a bot
    check's) must not ride along on the next user's. aiohttp keeps cookies unless told not to."""
    from tests.stubs import ServerThread

    seen: list[dict[str, str]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass
        seen.append({k.decode().lower(): v.decode() for k, v in scope["headers"]})
        body = orjson.dumps({"id": "c", "choices": [{"index": 0, "message": {"content": "ok"}}]})
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"set-cookie", b"__cf_bm=user-one; Path=/; HttpOnly")]})
        await send({"type": "http.response.body", "body": body})

    with ServerThread(app) as server:
        route = ModelRoute(name="m", adapter="passthrough", target="openai/x", upstream_model="x",
                           api_base=f"http://localhost:{server.port}/v1", api_key="sk-test", timeout=5.0,
                           connect_timeout=2.0)
        up = OpenAICompatibleUpstream()   # the aiohttp path, as the proxy serves (a host name: aiohttp keeps no
        # cookie of a bare IP address)
        try:
            for _ in range(2):
                body = {"model": "x", "messages": [{"role": "user", "content": "hi"}]}
                items = [item async for item in up.chat(UpstreamRequest(route=route, body=body, stream=False))]
                assert items[0]["choices"][0]["message"]["content"] == "ok"
        finally:
            await up.aclose()
    assert len(seen) == 2 and "cookie" not in seen[1]
