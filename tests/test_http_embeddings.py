"""``POST /v1/embeddings`` (middleware/http/embeddings.py): strict body validation, relayed with the
provider's model name, answered with the app's, and recorded as metadata only (never the text)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.routing import Route

from middleware.audit.unauth import UnauthenticatedTally
from middleware.http.embeddings import PATH, EmbeddingsEndpoint, parse_embeddings_body
from middleware.http.errors import CandorError
from middleware.pipeline.upstream import UpstreamRequest
from middleware.testing import ROUTE, ScriptedUpstream
from tests.endpoint_support import client, services


class Embedder(ScriptedUpstream):
    def __init__(self, fail: CandorError | None = None) -> None:
        super().__init__()
        self.asked: list[UpstreamRequest] = []
        self.fail = fail

    async def embeddings(self, request: UpstreamRequest) -> dict[str, Any]:
        self.asked.append(request)
        if self.fail is not None:
            raise self.fail
        n = len(request.body["input"]) if isinstance(request.body["input"], list) else 1
        return {"object": "list", "model": request.route.upstream_model,
                "data": [{"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]} for i in range(n)],
                "usage": {"prompt_tokens": 7, "total_tokens": 7}}


@pytest.mark.parametrize(("body", "param"), [
    (b"not json", None), (b"[]", None), (b'{"input": "x"}', "model"),
    (b'{"model": "m", "input": ""}', "input"), (b'{"model": "m", "input": []}', "input"),
    (b'{"model": "m", "input": ["a", 1]}', "input"), (b'{"model": "m", "input": [true]}', "input"),
    (b'{"model": "m", "input": "a", "encoding_format": "hex"}', "encoding_format"),
    (b'{"model": "m", "input": "a", "dimensions": 0}', "dimensions"),
    (b'{"model": "m", "input": "a", "dimensions": true}', "dimensions"),
])
def test_bad_bodies_are_refused_naming_the_field(body: bytes, param: str | None) -> None:
    with pytest.raises(CandorError) as err:
        parse_embeddings_body(body)
    assert err.value.status == 400 and err.value.param == param


@pytest.mark.parametrize("given", ["hello", ["a", "b"], [1, 2, 3], [[1, 2], [3]]])
def test_every_openai_input_shape_is_accepted(given: Any) -> None:
    assert parse_embeddings_body(json.dumps({"model": "m", "input": given}).encode())["input"] == given


async def test_relayed_and_recorded_as_metadata_only() -> None:
    up = Embedder()
    svc, rec = services({"scripted": up})
    async with client([Route(PATH, EmbeddingsEndpoint(svc).handle, methods=["POST"])]) as c:
        r = await c.post(PATH, json={"model": ROUTE.name, "input": ["secret one", "secret two"], "user": "u-1"})
    assert r.status_code == 200, r.text
    assert r.json()["model"] == ROUTE.name and len(r.json()["data"]) == 2
    assert r.headers["x-candor-event-id"] == rec.records[0][0].event_id
    assert up.asked[0].body["model"] == ROUTE.upstream_model
    ex, error = rec.records[0]
    assert error is None
    assert ex.decisions == [{"rule": "embeddings", "cites": [], "outcome": "relayed", "detail": {
        "inputs": 2, "vectors": 2, "dimensions": 3, "encoding_format": "float", "input_tokens": 7}}]
    assert "secret" not in str(ex.reply) and "secret" not in str(ex.decisions)   # metadata only


async def test_an_adapter_without_embeddings_and_a_provider_error_are_refusals_on_record() -> None:
    svc, rec = services({"scripted": ScriptedUpstream()})
    async with client([Route(PATH, EmbeddingsEndpoint(svc).handle, methods=["POST"])]) as c:
        r = await c.post(PATH, json={"model": ROUTE.name, "input": "x"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "model" and "cannot make embeddings" in r.text
    assert rec.records[0][1] is not None and rec.records[0][1].status == 400
    svc, rec = services({"scripted": Embedder(fail=CandorError(502, "upstream_error", "provider down"))})
    async with client([Route(PATH, EmbeddingsEndpoint(svc).handle, methods=["POST"])]) as c:
        r = await c.post(PATH, json={"model": ROUTE.name, "input": "x"})
    assert r.status_code == 502 and rec.records[0][0].kind == "error"


async def test_a_keyless_request_is_refused_before_the_body_is_read() -> None:
    up = Embedder()
    svc, rec = services({"scripted": up})
    svc.unauthenticated = tally = UnauthenticatedTally(lambda: None)  # type: ignore[arg-type,return-value]
    async with client([Route(PATH, EmbeddingsEndpoint(svc).handle, methods=["POST"])], key=None) as c:
        r = await c.post(PATH, content=b"not even json")
    assert r.status_code == 401 and up.asked == []
    assert rec.records == [] and tally.pending == 1   # counted, not recorded
