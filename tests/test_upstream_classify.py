"""The pass-through adapter's guard call (``classify``): a bounded JSON answer, or a failure naming why."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from adapters.upstream.openai_compat import OpenAICompatibleUpstream
from middleware.pipeline.upstream import ModelRoute, UpstreamFailure, UpstreamRequest, UpstreamTimeout

ROUTE = ModelRoute(name="guard", adapter="passthrough", target="hosted_vllm/lg", upstream_model="lg",
                   api_base="http://guard.test/v1", api_key="sk-guard", timeout=2.0, connect_timeout=1.0)


def _up(handler: Any) -> OpenAICompatibleUpstream:
    return OpenAICompatibleUpstream(httpx.AsyncClient(transport=httpx.MockTransport(handler)))


async def _classify(handler: Any, max_bytes: int = 65536) -> Any:
    request = UpstreamRequest(route=ROUTE, body={"model": "lg", "input": "hi"}, stream=False)
    return await _up(handler).classify(request, "/moderations", max_bytes)


async def test_a_json_answer_is_returned_and_the_path_and_key_are_used() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"results": []})

    assert await _classify(handler) == {"results": []}
    assert str(seen[0].url) == "http://guard.test/v1/moderations"
    assert seen[0].headers["authorization"] == "Bearer sk-guard"


@pytest.mark.parametrize("response, words", [
    (httpx.Response(200, content=b"x" * 100_000, headers={"content-type": "application/json"}), "more than"),
    (httpx.Response(200, content=b"<html>hi</html>", headers={"content-type": "text/html"}), "not JSON"),
    (httpx.Response(200, content=b"no type"), "not JSON"),
    (httpx.Response(200, content=b'{"choices": [', headers={"content-type": "application/json"}), "not JSON"),
    (httpx.Response(500, json={"error": {"message": "overloaded"}}), "overloaded"),
])
async def test_hostile_answers_are_failures(response: httpx.Response, words: str) -> None:
    with pytest.raises(UpstreamFailure) as info:
        await _classify(lambda request: response)
    assert words in info.value.message


async def test_a_slow_guard_is_a_timeout() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(UpstreamTimeout):
        await _classify(handler)
