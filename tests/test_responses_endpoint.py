"""``POST /v1/responses`` (middleware/responses/endpoint.py) on the ASGI app: the chat lifecycle with the
Responses format in and out; the original request is kept for the renderer and never sent upstream."""

from __future__ import annotations

import orjson
from starlette.routing import Route

from middleware.responses.endpoint import ResponsesEndpoint
from middleware.responses.render import PATH
from middleware.testing import ROUTE, RecordingRecorder, ScriptedUpstream
from tests.endpoint_support import client, services


def _routes(up: ScriptedUpstream) -> tuple[list[Route], RecordingRecorder]:
    svc, rec = services({"scripted": up})
    return [Route(PATH, ResponsesEndpoint(svc).handle, methods=["POST"])], rec


async def test_a_response_object_and_the_request_echoed_not_relayed() -> None:
    up = ScriptedUpstream(["好的，我记住了。"])
    routes, rec = _routes(up)
    async with client(routes) as c:
        r = await c.post(PATH, json={"model": ROUTE.name, "input": "记住我喜欢猫", "instructions": "be kind",
                                     "metadata": {"trace": "t-1"}, "user": "u-1"})
    assert r.status_code == 200, r.text
    obj = r.json()
    assert obj["object"] == "response" and obj["metadata"] == {"trace": "t-1"} and obj["instructions"] == "be kind"
    assert "好的，我记住了。" in obj["output"][0]["content"][0]["text"]
    assert obj["compliance"]["event_id"] == r.headers["x-candor-event-id"]
    sent = up.requests[0].body
    assert not any(k.startswith("_") for k in sent)            # the kept original stays in the proxy
    assert sent["messages"][0]["role"] == "system"
    assert rec.records[-1][0].state.responses_request["metadata"] == {"trace": "t-1"}


async def test_a_stream_is_server_sent_responses_events() -> None:
    routes, _ = _routes(ScriptedUpstream(["第一句。第二句。"]))
    async with client(routes) as c:
        r = await c.post(PATH, json={"model": ROUTE.name, "input": "你好", "stream": True, "user": "u-1"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    types = [orjson.loads(line.removeprefix("data: "))["type"] for line in r.text.splitlines()
             if line.startswith("data: ")]
    assert types[0] == "response.created" and types[-1] == "response.completed"


async def test_what_the_responses_api_cannot_carry_is_a_400_on_record() -> None:
    up = ScriptedUpstream(["never"])
    routes, rec = _routes(up)
    async with client(routes) as c:
        r = await c.post(PATH, json={"model": ROUTE.name, "input": "x", "previous_response_id": "resp_1"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "previous_response_id"
    assert up.requests == [] and rec.records[-1][1] is not None
