"""Real clients nobody here wrote, against a running proxy (provider stubbed over HTTP): the openai SDK,
LangChain's ``ChatOpenAI`` and the LiteLLM SDK. Each checks that notices and labels reach the user and
that ``compliance`` (or, where a client drops unknown fields, Candor's headers) is readable (issue 15)."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from pydantic import BaseModel

from tests.conftest import APP_KEY
from tests.proxy import ProxyProcess
from tests.stubs import Script, StubProvider


class Mood(BaseModel):
    mood: str
    score: int


def _user(name: str) -> dict[str, str]:
    return {"X-Candor-User": name}


def _compliance(obj: Any) -> dict[str, Any]:
    return dict((getattr(obj, "model_extra", None) or {}).get("compliance") or {})


# -- the openai SDK -------------------------------------------------------------------------------------
def test_openai_chat_and_stream_deliver_notices_and_labels(lean_client: openai.OpenAI, stub: StubProvider) -> None:
    stub.push(Script(text="Fine, thanks."), Script(text="Streaming fine."))
    reply = lean_client.chat.completions.create(model="companion", messages=[{"role": "user", "content": "你好"}],
                                                extra_headers=_user("oa-chat"))
    comp = _compliance(reply)
    text = reply.choices[0].message.content or ""
    assert comp["notices"][0]["text"] in text and comp["label"]["explicit"] in text and "Fine, thanks." in text
    chunks = list(lean_client.chat.completions.create(
        model="companion", messages=[{"role": "user", "content": "你好"}], stream=True,
        extra_headers=_user("oa-chat-stream")))
    first = _compliance(chunks[0])
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert first["label"]["explicit"] in streamed and first["notices"][0]["text"] in streamed
    assert "actions" in _compliance(chunks[-1])


def test_openai_responses_deliver_notices_and_labels(lean_client: openai.OpenAI, stub: StubProvider) -> None:
    stub.push(Script(text="Responses fine."))
    resp = lean_client.responses.create(model="companion", input="你好", extra_headers=_user("oa-resp"))
    comp = _compliance(resp)
    assert comp["label"]["explicit"] in resp.output_text and comp["notices"][0]["text"] in resp.output_text


def test_openai_parse_with_a_pydantic_model(lean_client: openai.OpenAI, stub: StubProvider) -> None:
    stub.push(Script(text='{"mood": "calm", "score": 7}'))
    done = lean_client.chat.completions.parse(model="companion", messages=[{"role": "user", "content": "mood?"}],
                                              response_format=Mood, extra_headers=_user("oa-parse"))
    assert done.choices[0].message.parsed == Mood(mood="calm", score=7)
    assert _compliance(done)["label"]["explicit"]   # label and notices as data


# -- LangChain ------------------------------------------------------------------------------------------
def _chat_openai(proxy: ProxyProcess, user: str) -> Any:
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(model="companion", base_url=proxy.url + "/v1", api_key=APP_KEY,  # type: ignore[arg-type]
                      max_retries=0, timeout=20, default_headers=_user(user), include_response_headers=True)


def test_langchain_invoke_and_stream(lean_proxy: ProxyProcess, stub: StubProvider) -> None:
    stub.push(Script(text="LangChain fine."), Script(text="LangChain streams."))
    message = _chat_openai(lean_proxy, "lc-invoke").invoke("你好")
    assert "LangChain fine." in message.content and "本回复由人工智能生成" in message.content
    assert "你正在与人工智能交流" in message.content
    # LangChain keeps no unknown body fields; Candor's headers are its compliance handle there
    headers = message.response_metadata["headers"]
    assert headers["x-candor-event-id"] and headers["x-candor-policy"] == "cn-anthropomorphic-2026"
    pieces = [chunk.content for chunk in _chat_openai(lean_proxy, "lc-stream").stream("你好")]
    text = "".join(p for p in pieces if isinstance(p, str))
    assert "LangChain streams." in text and "本回复由人工智能生成" in text and "你正在与人工智能交流" in text


def test_langchain_with_structured_output(lean_proxy: ProxyProcess, stub: StubProvider) -> None:
    stub.push(Script(text='{"mood": "calm", "score": 7}'))
    result = _chat_openai(lean_proxy, "lc-structured").with_structured_output(Mood, method="json_schema").invoke(
        "mood?")
    assert result == Mood(mood="calm", score=7)


# -- the LiteLLM SDK as a client --------------------------------------------------------------------------
def test_litellm_sdk_as_a_client(lean_proxy: ProxyProcess, stub: StubProvider,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    stub.push(Script(text="LiteLLM fine."), Script(text="LiteLLM streams."))
    common: dict[str, Any] = {"model": "openai/companion", "api_base": lean_proxy.url + "/v1", "api_key": APP_KEY,
                              "messages": [{"role": "user", "content": "你好"}], "num_retries": 0}
    reply = litellm.completion(**common, extra_headers=_user("litellm-plain"))
    text = reply.choices[0].message.content
    assert "LiteLLM fine." in text and "本回复由人工智能生成" in text and "你正在与人工智能交流" in text
    headers = reply._hidden_params["additional_headers"]
    assert headers["llm_provider-x-candor-event-id"]
    stream = litellm.completion(**common, stream=True, extra_headers=_user("litellm-stream"))
    streamed = "".join(chunk.choices[0].delta.content or "" for chunk in stream)
    assert "LiteLLM streams." in streamed and "本回复由人工智能生成" in streamed
