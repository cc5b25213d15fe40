"""End-to-end: the official openai SDK against a running ``candor serve``, providers stubbed over HTTP."""

from __future__ import annotations

import time
from typing import Any

import httpx
import openai
import pytest

from tests import web
from tests.conftest import APP_KEY, UPSTREAM_KEY
from tests.proxy import ProxyProcess
from tests.stubs import Script, StubProvider

USER = [{"role": "user", "content": "How was your day?"}]


def _compliance(obj: Any) -> dict[str, Any] | None:
    return (obj.model_extra or {}).get("compliance")


def _collect(stream: Any) -> tuple[str, list[Any]]:
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return text, chunks


def test_passthrough_chat_returns_provider_reply_with_compliance(client: openai.OpenAI, stub: StubProvider) -> None:
    stub.push(Script(text="I had a quiet day reading."))
    raw = client.chat.completions.with_raw_response.create(model="companion", messages=USER)
    reply = raw.parse()
    assert "I had a quiet day reading." in (reply.choices[0].message.content or "")
    assert reply.usage is not None and reply.usage.total_tokens == 12
    comp = _compliance(reply)
    assert comp is not None and comp["event_id"] == raw.headers["x-candor-event-id"]
    assert comp["policy"]["id"] == raw.headers["x-candor-policy"]
    sent = stub.requests[-1]
    assert sent["body"]["model"] == "stub-model"            # alias rewritten to the provider's name
    assert sent["headers"]["authorization"] == f"Bearer {UPSTREAM_KEY}"  # provider key from the environment


def test_passthrough_stream_relays_chunks_and_carries_compliance_first_and_last(
        client: openai.OpenAI, stub: StubProvider) -> None:
    stub.push(Script(text="one two three four five six"))
    text, chunks = _collect(client.chat.completions.create(model="companion", messages=USER, stream=True))
    assert "one two three four five six" in text
    assert _compliance(chunks[0]) is not None and _compliance(chunks[0])["notices"] is not None
    assert "actions" in (_compliance(chunks[-1]) or {})
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.id == "chatcmpl-stub" for c in chunks)


def test_stream_with_usage_keeps_usage_chunk_last(client: openai.OpenAI, stub: StubProvider) -> None:
    stub.push(Script(text="counting tokens"))
    _, chunks = _collect(client.chat.completions.create(
        model="companion", messages=USER, stream=True, stream_options={"include_usage": True}))
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 12
    assert _compliance(chunks[-1]) is not None


def test_relay_does_not_wait_for_the_whole_reply(client: openai.OpenAI, stub: StubProvider) -> None:
    stub.push(Script(text="a b c d e f g h", chunk_delay=0.15))
    start = time.monotonic()
    stream = client.chat.completions.create(model="companion", messages=USER, stream=True)
    arrivals = [time.monotonic() - start for c in stream if c.choices and c.choices[0].delta.content]
    assert arrivals[0] < 0.6 < arrivals[-1]   # the first words arrive long before the last


def test_demo_model_answers_offline(client: openai.OpenAI) -> None:
    # each call a new user, so each is a first turn with the same disclosure: the replies must be equal
    def user(n: int) -> dict[str, str]:
        return {"X-Candor-User": f"demo-determinism-{n}"}

    reply = client.chat.completions.create(model="candor-demo", messages=[{"role": "user", "content": "你好"}],
                                           extra_headers=user(1))
    text = reply.choices[0].message.content or ""
    assert any("\u4e00" <= ch <= "\u9fff" for ch in text)      # answers Chinese in Chinese
    again = client.chat.completions.create(model="candor-demo", messages=[{"role": "user", "content": "你好"}],
                                           extra_headers=user(2))
    assert again.choices[0].message.content == text            # deterministic
    streamed, _ = _collect(client.chat.completions.create(
        model="candor-demo", messages=[{"role": "user", "content": "你好"}], stream=True, extra_headers=user(3)))
    assert streamed == text


def test_litellm_adapter_speaks_anthropic(client: openai.OpenAI, stub: StubProvider) -> None:
    stub.push(Script(text="Bonjour from Claude."), Script(text="Streaming from Claude now."))
    reply = client.chat.completions.create(model="claude", messages=USER)
    assert "Bonjour from Claude." in (reply.choices[0].message.content or "")
    text, chunks = _collect(client.chat.completions.create(model="claude", messages=USER, stream=True))
    assert "Streaming from Claude now." in text
    assert _compliance(chunks[0]) is not None and _compliance(chunks[-1]) is not None
    assert [r["api"] for r in stub.requests] == ["anthropic", "anthropic"]
    assert stub.requests[0]["headers"]["x-api-key"] == UPSTREAM_KEY
    assert stub.requests[0]["body"]["model"] == "claude-3-5-sonnet-20240620"


def test_models_lists_configured_aliases(client: openai.OpenAI) -> None:
    names = {m.id for m in client.models.list()}
    assert {"companion", "claude", "candor-demo"} <= names


# -- errors: OpenAI error shape, a message that says what to fix --------------------------------------

def _error(resp: httpx.Response) -> dict[str, Any]:
    body = resp.json()
    assert set(body["error"]) == {"message", "type", "code", "param"}
    err: dict[str, Any] = body["error"]
    return err


def test_missing_and_unknown_keys_are_401(proxy: ProxyProcess) -> None:
    with pytest.raises(openai.AuthenticationError) as exc:
        web.OpenAI(base_url=proxy.url + "/v1", api_key="sk-wrong", max_retries=0).chat.completions.create(
            model="companion", messages=USER)
    assert exc.value.code == "invalid_api_key"
    resp = web.post(proxy.url + "/v1/chat/completions", json={"model": "companion", "messages": USER})
    assert resp.status_code == 401 and "Authorization" in _error(resp)["message"]


@pytest.mark.parametrize(("body", "needle"), [
    (b"{not json", "not valid JSON"),
    (b'{"model": "companion"}', "'messages' is required"),
    (b'{"model": "companion", "messages": "hi"}', "'messages' is required"),
    (b'{"model": "companion", "messages": [{"role": "robot", "content": "x"}]}', "role must be one of"),
    (b'{"model": 5, "messages": [{"role": "user", "content": "x"}]}', "'model' is required"),
    (b'{"model": "companion", "stream": "yes", "messages": [{"role": "user", "content": "x"}]}', "'stream'"),
])
def test_malformed_requests_are_400(proxy: ProxyProcess, body: bytes, needle: str) -> None:
    resp = web.post(proxy.url + "/v1/chat/completions", content=body,
                    headers={"authorization": f"Bearer {APP_KEY}", "content-type": "application/json"})
    assert resp.status_code == 400
    err = _error(resp)
    assert err["code"] == "invalid_request" and needle in err["message"]


def test_unknown_age_band_is_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as exc:
        client.chat.completions.create(model="companion", messages=USER,
                                       extra_headers={"X-Candor-Age-Band": "teenager"})
    assert "X-Candor-Age-Band" in str(exc.value)


def test_unknown_model_is_404_naming_the_configured_ones(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as exc:
        client.chat.completions.create(model="gpt-5", messages=USER)
    assert exc.value.code == "model_not_found" and "companion" in str(exc.value)


def test_body_over_the_limit_is_413(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as exc:
        client.chat.completions.create(model="companion", messages=[{"role": "user", "content": "x" * 70000}])
    assert exc.value.status_code == 413 and "max_body_bytes" in str(exc.value)


def test_provider_error_is_502(client: openai.OpenAI, stub: StubProvider) -> None:
    stub.push(Script(status=500))
    with pytest.raises(openai.APIStatusError) as exc:
        client.chat.completions.create(model="companion", messages=USER)
    assert exc.value.status_code == 502 and "HTTP 500" in str(exc.value)


def test_unreachable_provider_is_502_naming_the_url(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as exc:
        client.chat.completions.create(model="dead", messages=USER, stream=True)
    assert exc.value.status_code == 502 and "could not reach" in str(exc.value)


def test_slow_provider_is_504(client: openai.OpenAI, stub: StubProvider) -> None:
    stub.push(Script(first_delay=1.0))
    with pytest.raises(openai.APIStatusError) as exc:
        client.chat.completions.create(model="slow", messages=USER)
    assert exc.value.status_code == 504 and exc.value.code == "upstream_timeout"


def test_provider_dying_mid_stream_ends_the_stream_with_an_error_the_sdk_raises(
        client: openai.OpenAI, stub: StubProvider) -> None:
    stub.push(Script(text="this reply will be cut off before the end", die_after=3))
    got: list[str] = []
    with pytest.raises(openai.APIError) as exc:
        for chunk in client.chat.completions.create(model="companion", messages=USER, stream=True):
            if chunk.choices:
                got.append(chunk.choices[0].delta.content or "")
    assert "provider" in str(exc.value)
    assert "".join(got)  # some text had arrived before the failure


def test_provider_error_event_mid_stream_is_raised(client: openai.OpenAI, stub: StubProvider) -> None:
    stub.push(Script(text="partial reply then an error", error_event_after=2))
    with pytest.raises(openai.APIError) as exc:
        list(client.chat.completions.create(model="companion", messages=USER, stream=True))
    assert "overloaded" in str(exc.value)


def test_client_hanging_up_cancels_the_provider_call(proxy: ProxyProcess, stub: StubProvider) -> None:
    # 400 chunks 0.05 s apart: the provider's stream would run 20 s to its end
    stub.push(Script(text=" ".join(f"Sentence {i}." for i in range(400)), chunk_delay=0.05))
    with web.stream("POST", proxy.url + "/v1/chat/completions", timeout=10,
                    headers={"authorization": f"Bearer {APP_KEY}", "x-candor-user": "hangs-up"},
                    json={"model": "companion", "messages": USER, "stream": True}) as resp:
        lines = resp.iter_lines()
        for _ in range(3):
            next(lines)
    hung_up = time.monotonic()
    deadline = hung_up + 15
    while not stub.cancelled and time.monotonic() < deadline:
        time.sleep(0.02)
    assert stub.cancelled, "the provider call kept running after the client left"
    # typically well under a second; the bound leaves room for a busy machine (another test process on the
    # same cores) and is still far short of the 20 s the provider's stream would have run
    assert stub.cancelled[0] - hung_up < 5.0
    assert not stub.completed


def test_health_readiness_and_metrics(proxy: ProxyProcess, client: openai.OpenAI, stub: StubProvider) -> None:
    client.chat.completions.create(model="companion", messages=USER)
    assert web.get(proxy.url + "/healthz").json() == {"status": "ok"}
    assert web.get(proxy.url + "/readyz").status_code == 200
    text = web.get(proxy.url + "/metrics").text
    assert 'candor_requests_total{model="companion",status="200"}' in text
    assert "candor_request_duration_seconds_bucket" in text
    assert "candor_upstream_errors_total" in text


def test_one_json_log_line_per_request_without_content(proxy: ProxyProcess, client: openai.OpenAI,
                                                       stub: StubProvider) -> None:
    import json

    def request_lines() -> list[dict[str, Any]]:
        complete = proxy.log().split("\n")[:-1]   # not a line still being written
        return [json.loads(ln) for ln in complete if ln.startswith("{") and '"request"' in ln]

    before = len(request_lines())
    secret = "my-very-private-message-7731"
    client.chat.completions.create(model="companion", messages=[{"role": "user", "content": secret}],
                                   extra_headers={"X-Candor-User": "log-user"})
    deadline = time.monotonic() + 30   # the line is written after the reply: wait for it, not a fixed time
    while len(request_lines()) <= before and time.monotonic() < deadline:
        time.sleep(0.05)
    log = proxy.log()
    assert secret not in log
    lines = request_lines()
    assert lines and {"app", "model", "status", "latency_ms", "upstream_ms"} <= set(lines[-1])
