"""End-to-end: ``POST /v1/responses`` with the official openai SDK against a running proxy (provider stubbed
over HTTP): the same rules as chat, in the Responses wire format (contract 6.4, issue 15)."""

from __future__ import annotations

import openai
import pytest

from tests import web
from tests.conftest import APP_KEY
from tests.proxy import ProxyProcess
from tests.stubs import Script, StubProvider

DISCLOSURE = "你正在与人工智能交流"
LABEL = "本回复由人工智能生成"


def _extra(obj: object) -> dict:  # type: ignore[type-arg]
    return (getattr(obj, "model_extra", None) or {}).get("compliance") or {}


def test_responses_create_goes_through_the_rules(lean_client: openai.OpenAI, stub: StubProvider) -> None:
    stub.push(Script(text="I read a book."))
    resp = lean_client.responses.create(model="companion", input="你好", instructions="Be kind.",
                                   extra_headers={"X-Candor-User": "resp-plain"})
    assert resp.object == "response" and resp.status == "completed"
    text = resp.output_text
    assert "I read a book." in text and DISCLOSURE in text and LABEL in text
    comp = _extra(resp)
    # real time here: between 01:00 and 05:00 Beijing time the CN pack's late-night signal adds a reminder
    assert [n["kind"] for n in comp["notices"] if n["kind"] != "dependence_reminder"] == ["ai_disclosure"]
    assert comp["label"]["explicit"] == LABEL and comp["event_id"]
    sent = stub.requests[-1]["body"]
    # instructions and input reached the provider as chat messages, after the policy's own system text
    roles = [m["role"] for m in sent["messages"]]
    assert roles[-2:] == ["system", "user"] and sent["messages"][-1]["content"] == "你好"
    assert any(m["content"] == "Be kind." for m in sent["messages"])
    assert "_responses" not in sent and "input" not in sent
    assert resp.usage is not None and resp.usage.input_tokens == 5 and resp.usage.output_tokens == 7


def test_responses_stream_carries_compliance_on_created_and_completed(lean_client: openai.OpenAI,
                                                                      stub: StubProvider) -> None:
    stub.push(Script(text="one two three"))
    events = list(lean_client.responses.create(model="companion", input=[
        {"role": "user", "content": [{"type": "input_text", "text": "hello there"}]}],
        stream=True, extra_headers={"X-Candor-User": "resp-stream"}))
    types = [e.type for e in events]
    assert types[0] == "response.created" and types[-1] == "response.completed"
    for needed in ("response.output_item.added", "response.content_part.added", "response.output_text.delta",
                   "response.output_text.done", "response.content_part.done", "response.output_item.done"):
        assert needed in types
    assert [e.sequence_number for e in events] == list(range(len(events)))
    created, completed = _extra(events[0].response), _extra(events[-1].response)
    assert [n["kind"] for n in created["notices"] if n["kind"] != "dependence_reminder"] == ["ai_disclosure"]
    assert created["event_id"] == completed["event_id"] and "actions" in completed
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert "one two three" in deltas and created["notices"][0]["text"] in deltas
    assert created["label"]["explicit"] in deltas
    assert events[-1].response.output_text == deltas
    assert events[-1].response.usage is not None and events[-1].response.usage.total_tokens == 12


def test_responses_stream_helper_assembles_the_text(lean_client: openai.OpenAI, stub: StubProvider) -> None:
    stub.push(Script(text="assembled reply"))
    with lean_client.responses.stream(model="companion", input="今天怎么样",
                                 extra_headers={"X-Candor-User": "resp-helper"}) as stream:
        final = stream.get_final_response()
    assert "assembled reply" in final.output_text and LABEL in final.output_text


def test_previous_response_id_is_refused_clearly(lean_client: openai.OpenAI, lean_proxy: ProxyProcess) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        lean_client.responses.create(model="companion", input="hi", previous_response_id="resp_123",
                                extra_headers={"X-Candor-User": "resp-prev"})
    body = err.value.body
    assert isinstance(body, dict) and body["code"] == "invalid_request" and body["param"] == "previous_response_id"
    assert "whole conversation" in body["message"]
    events = web.get(lean_proxy.url + "/healthz")
    assert events.status_code == 200   # the proxy stays up


@pytest.mark.parametrize("bad, param", [
    ({"model": "companion"}, "input"),
    ({"model": "companion", "input": [{"role": "robot", "content": "x"}]}, "input[0].role"),
    ({"model": "companion", "input": "x", "tools": [{"type": "web_search"}]}, "tools[0]"),
    ({"model": "nope", "input": "x"}, "model"),
])
def test_bad_responses_requests_get_openai_errors(lean_proxy: ProxyProcess, bad: dict, param: str) -> None:  # type: ignore[type-arg]
    r = web.post(lean_proxy.url + "/v1/responses", json=bad, headers={"Authorization": f"Bearer {APP_KEY}",
                                                                "X-Candor-User": "resp-bad"})
    assert r.status_code in (400, 404)
    err = r.json()["error"]
    assert err["param"] == param and err["message"] and set(err) == {"message", "type", "code", "param"}
    assert r.headers["x-candor-event-id"]   # every refusal is an audit event


def test_responses_text_format_becomes_response_format(lean_client: openai.OpenAI, stub: StubProvider) -> None:
    stub.push(Script(text='{"a": 1}'))
    lean_client.responses.create(model="companion", input="json please", extra_headers={"X-Candor-User": "resp-fmt"},
                            text={"format": {"type": "json_schema", "name": "thing", "schema": {
                                "type": "object", "properties": {"a": {"type": "integer"}}}}})
    sent = stub.requests[-1]["body"]
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["name"] == "thing"


def test_provider_failure_mid_stream_ends_with_an_error_event(lean_client: openai.OpenAI, stub: StubProvider) -> None:
    stub.push(Script(text="a b c d e f", error_event_after=2))
    with pytest.raises(openai.APIError):
        list(lean_client.responses.create(model="companion", input="hi", stream=True,
                                     extra_headers={"X-Candor-User": "resp-fail"}))


def test_embeddings_are_relayed_and_recorded_without_content(lean_client: openai.OpenAI, stub: StubProvider,
                                                             lean_proxy: ProxyProcess) -> None:
    raw = lean_client.embeddings.with_raw_response.create(model="companion", input=["secret words", "more"],
                                                          extra_headers={"X-Candor-User": "emb-user"})
    result = raw.parse()
    assert len(result.data) == 2 and result.data[1].embedding[0] == pytest.approx(0.2)
    assert result.model == "companion"
    sent = stub.requests[-1]
    assert sent["api"] == "embeddings" and sent["body"]["model"] == "stub-model"
    event_id = raw.headers["x-candor-event-id"]
    import json
    import sqlite3

    db = sqlite3.connect(str(lean_proxy.tmp / "audit.db"))
    rows = db.execute("select body, content_ref from audit_events where event_id = ?", (event_id,)).fetchall()
    assert len(rows) == 1
    event, content_ref = json.loads(rows[0][0]), rows[0][1]
    assert content_ref is None and event["kind"] == "exchange"
    decision = next(d for d in event["decisions"] if d["rule"] == "embeddings")
    assert decision["detail"]["inputs"] == 2 and decision["detail"]["dimensions"] == 3
    assert "secret words" not in rows[0][0]


def test_embeddings_refusals_are_openai_errors(lean_proxy: ProxyProcess, stub: StubProvider) -> None:
    auth = {"Authorization": f"Bearer {APP_KEY}"}
    r = web.post(lean_proxy.url + "/v1/embeddings", json={"model": "companion", "input": []}, headers=auth)
    assert r.status_code == 400 and r.json()["error"]["param"] == "input"
    stub.push(Script(status=500))
    r = web.post(lean_proxy.url + "/v1/embeddings", json={"model": "companion", "input": "x"}, headers=auth)
    assert r.status_code == 502 and r.json()["error"]["code"] == "upstream_error"
    r = web.post(lean_proxy.url + "/v1/embeddings", json={"model": "companion", "input": "x"})
    assert r.status_code == 401


TOOLS = [{"type": "function", "name": "get_weather", "description": "weather in a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]


def test_function_tools_round_trip(lean_client: openai.OpenAI, stub: StubProvider) -> None:
    stub.push(Script(tool_call=("get_weather", '{"city": "Beijing"}')))
    resp = lean_client.responses.create(model="companion", input="weather in Beijing?", tools=TOOLS,  # type: ignore[arg-type]
                                        extra_headers={"X-Candor-User": "resp-tools"})
    sent = stub.requests[-1]["body"]
    assert sent["tools"][0] == {"type": "function", "function": {k: v for k, v in TOOLS[0].items() if k != "type"}}
    calls = [o for o in resp.output if o.type == "function_call"]
    assert len(calls) == 1 and calls[0].name == "get_weather" and calls[0].arguments == '{"city": "Beijing"}'
    # the tool's result goes back as a function_call_output item, read as a tool message
    stub.push(Script(text="Sunny in Beijing."))
    follow = lean_client.responses.create(model="companion", tools=TOOLS, extra_headers={"X-Candor-User": "resp-tools"},  # type: ignore[arg-type]
                                          input=[{"role": "user", "content": "weather in Beijing?"},
                                                 {"type": "function_call", "call_id": calls[0].call_id,
                                                  "name": "get_weather", "arguments": calls[0].arguments},
                                                 {"type": "function_call_output", "call_id": calls[0].call_id,
                                                  "output": "sunny"}])
    sent = stub.requests[-1]["body"]["messages"]
    assert sent[-2]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert sent[-1] == {"role": "tool", "tool_call_id": calls[0].call_id, "content": "sunny"}
    assert "Sunny in Beijing." in follow.output_text


def test_function_call_streamed(lean_client: openai.OpenAI, stub: StubProvider) -> None:
    stub.push(Script(tool_call=("get_weather", '{"city": "Paris"}')))
    events = list(lean_client.responses.create(model="companion", input="weather in Paris?", tools=TOOLS,  # type: ignore[arg-type]
                                               stream=True, extra_headers={"X-Candor-User": "resp-tools-stream"}))
    done = [e.item for e in events if e.type == "response.output_item.done" and e.item.type == "function_call"]
    assert len(done) == 1 and done[0].arguments == '{"city": "Paris"}'
    final = events[-1].response
    assert events[-1].type == "response.completed"
    assert [o.type for o in final.output if o.type == "function_call"] == ["function_call"]


def test_hostile_responses_requests_are_refused_and_the_proxy_stays_up(lean_proxy: ProxyProcess) -> None:
    """Deep nesting, a huge body and a lone surrogate: each is a precise 4xx, never a crash or a 502."""
    auth = {"Authorization": f"Bearer {APP_KEY}", "content-type": "application/json"}
    deep = b'{"model": "companion", "input": ' + b"[" * 2000 + b"]" * 2000 + b"}"
    huge = b'{"model": "companion", "input": "' + b"a" * (2 * 1024 * 1024) + b'"}'
    lone = b'{"model": "companion", "input": "\\ud800 help", "user": "u-1"}'
    for raw in (deep, huge, lone):
        r = web.post(lean_proxy.url + "/v1/responses", content=raw, headers=auth, timeout=30)
        assert 400 <= r.status_code < 500, (r.status_code, r.text[:200])
        assert set(r.json()["error"]) == {"message", "type", "code", "param"}
    invisible = {"model": "companion", "user": "u-1", "input": "\u2063\u200e你\ufe0f好\u202e"}
    assert web.post(lean_proxy.url + "/v1/responses", json=invisible, headers=auth, timeout=30).status_code in (
        200, 502)   # served (the stub may have no script left): what matters is no crash on odd characters
    assert web.get(lean_proxy.url + "/healthz", timeout=10).status_code == 200
