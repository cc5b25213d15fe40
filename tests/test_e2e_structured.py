"""End-to-end (openai SDK, running proxy), issue 13 items 5, 6 and 14: structured output and tool calls get
no inserted text (``json.loads`` and ``chat.completions.parse()`` work through Candor), the disclosure waits
for the next reply with text, Candor's own texts are stripped from the history, and DVH-LABEL-1 is cited
only for digital humans. Streaming and not."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel

from tests.gaps_support import admin, chat, client, decisions, gaps, kinds, say, set_profile
from tests.stubs import Script, StubProvider

__all__ = ["gaps"]
JSON_OBJECT = {"type": "json_object"}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "weather in a city",
                                           "parameters": {"type": "object",
                                                          "properties": {"city": {"type": "string"}}}}}]


class Mood(BaseModel):
    mood: str
    score: int


@pytest.mark.parametrize("stream", [False, True])
def test_json_object_reply_parses_and_the_disclosure_waits_for_text(gaps: Any, stub: StubProvider,
                                                                    stream: bool) -> None:
    server, _ = gaps
    cn, user = client(server, "cn"), f"json-{stream}"
    stub.push(Script(text='{"mood": "calm", "score": 7}'))
    text, comp, _ = chat(cn, say("用JSON回答：你心情如何"), stream, user=user, response_format=JSON_OBJECT)
    assert text is not None and json.loads(text) == {"mood": "calm", "score": 7}
    assert comp["label"]["explicit"] and comp["label"]["implicit"]["Label"] == "1"   # the label, as data
    assert "ai_disclosure" in kinds(comp) and "label_delegated" in comp["actions"]
    (label,) = [d for d in decisions(server, comp["event_id"]) if d["rule"] == "labels"]
    assert label["outcome"] == "delegated" and label["detail"]["reason"] == "structured_output"
    # the first reply with text carries the disclosure the JSON reply could not
    text, comp, _ = chat(cn, say("谢谢"), stream, user=user)
    assert text is not None and text.startswith("温馨提示：你正在与人工智能交流")
    _, comp, _ = chat(cn, say("再见前再聊一句"), stream, user=user)
    assert "ai_disclosure" not in kinds(comp)


@pytest.mark.parametrize("api", ["chat", "beta"])
def test_chat_completions_parse_with_a_pydantic_model(gaps: Any, stub: StubProvider, api: str) -> None:
    server, _ = gaps
    cn = client(server, "cn")
    stub.push(Script(text='{"mood": "happy", "score": 9}'))
    parse = cn.chat.completions.parse if api == "chat" else cn.beta.chat.completions.parse
    completion = parse(model="companion", messages=say("How are you?"),  # type: ignore[arg-type]
                       response_format=Mood, extra_headers={"X-Candor-User": f"parser-{api}"})
    parsed = completion.choices[0].message.parsed
    assert parsed == Mood(mood="happy", score=9)
    sent = stub.requests[-1]["body"]["response_format"]
    assert sent["type"] == "json_schema"          # what the SDK asked for reached the provider as it was


def test_streamed_parse_with_a_pydantic_model(gaps: Any, stub: StubProvider) -> None:
    server, _ = gaps
    stub.push(Script(text='{"mood": "calm", "score": 3}'))
    with client(server, "cn").chat.completions.stream(
            model="companion", messages=say("How are you?"), response_format=Mood,  # type: ignore[arg-type]
            extra_headers={"X-Candor-User": "stream-parser"}) as events:
        final = events.get_final_completion()
    assert final.choices[0].message.parsed == Mood(mood="calm", score=3)


@pytest.mark.parametrize("stream", [False, True])
def test_tool_call_only_reply_gets_no_text_and_the_next_text_reply_the_disclosure(
        gaps: Any, stub: StubProvider, stream: bool) -> None:
    server, _ = gaps
    cn, user = client(server, "cn"), f"tools-{stream}"
    args = '{"city": "北京 本回复由人工智能生成"}'
    stub.push(Script(tool_calls=[{"function": {"name": "get_weather", "arguments": args}}]))
    text, comp, raw = chat(cn, say("北京天气怎么样"), stream, user=user, tools=TOOLS)
    assert not text                                            # nothing inserted: no label, no notice text
    if stream:
        pieces = "".join(tc.function.arguments or "" for c in raw if c.choices
                         for tc in (c.choices[0].delta.tool_calls or []))
        assert pieces == args                                  # arguments relayed untouched, never labelled
    else:
        assert raw.tool_calls[0].function.arguments == args and raw.content is None
    assert "label_delegated" in comp["actions"] and "ai_disclosure" in kinds(comp)
    (label,) = [d for d in decisions(server, comp["event_id"]) if d["rule"] == "labels"]
    assert label["detail"]["reason"] == "structured_output"
    text, comp, _ = chat(cn, say("那上海呢"), stream, user=user, tools=TOOLS)
    assert text is not None and text.startswith("温馨提示：你正在与人工智能交流")
    assert "本回复由人工智能生成" in text and "Hello from the stub." in text


@pytest.mark.parametrize("stream", [False, True])
def test_candor_text_is_stripped_from_the_history_sent_to_the_provider(gaps: Any, stub: StubProvider,
                                                                       stream: bool) -> None:
    server, _ = gaps
    cn, user = client(server, "cn"), f"history-{stream}"
    first, _, _ = chat(cn, say("你好"), stream, user=user)
    assert first is not None and "本回复由人工智能生成" in first
    history = [*say("你好"), {"role": "assistant", "content": first},
               {"role": "assistant", "content": [{"type": "text", "text": "AI生成 · AI-generated\n\nOK."}]},
               *say("继续")]
    chat(cn, history, stream, user=user)
    sent = [m for m in stub.requests[-1]["body"]["messages"] if m["role"] == "assistant"]
    assert sent[0]["content"] == "Hello from the stub."
    assert sent[1]["content"] == [{"type": "text", "text": "OK."}]


def test_dvh_label_is_cited_only_for_digital_humans(gaps: Any) -> None:
    server, _ = gaps
    _, comp, _ = chat(client(server, "cn"), say("你好"), False, user="plain-user")
    (label,) = [d for d in decisions(server, comp["event_id"]) if d["rule"] == "labels"]
    assert "DVH-LABEL-1" not in label["cites"] and "LABEL-TEXT-1" in label["cites"]


@pytest.mark.parametrize("stream", [False, True])
def test_users_without_training_consent_get_store_false_and_it_is_recorded(gaps: Any, stub: StubProvider,
                                                                         stream: bool) -> None:
    server, _ = gaps
    cn, user = client(server, "cn"), f"trainee-{stream}"
    _, comp, _ = chat(cn, say("你好"), stream, user=user, extra_body={"store": True})
    assert stub.requests[-1]["body"]["store"] is False            # no profile, so no consent: not stored
    (d,) = [d for d in decisions(server, comp["event_id"]) if d["rule"] == "training_consent"]
    assert (d["outcome"], d["detail"]["reason"], d["cites"]) == ("no_store", "no_profile", ["ANTH-DATA-3"])
    set_profile(server, user, training_consent=True)
    assert admin(server, "GET", f"/admin/users/{user}").json()["training_consent"] is True
    _, comp, _ = chat(cn, say("我们接着聊"), stream, user=user, extra_body={"store": True})
    assert stub.requests[-1]["body"]["store"] is True              # the app's own choice stands
    set_profile(server, user, age_band="adult")                    # a PUT without the field keeps the consent
    _, comp, _ = chat(cn, say("我们接着聊"), stream, user=user)
    assert "store" not in stub.requests[-1]["body"]
    assert [d["outcome"] for d in decisions(server, comp["event_id"]) if d["rule"] == "training_consent"] == \
        ["consented"]


@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
def test_langchain_with_structured_output_works_through_candor(gaps: Any, stub: StubProvider, method: str) -> None:
    from langchain_openai import ChatOpenAI

    from tests.gaps_support import KEYS

    server, _ = gaps
    if method == "function_calling":   # the answer comes back as a tool call's arguments
        stub.push(Script(tool_calls=[{"function": {"name": "Mood", "arguments": '{"mood": "ok", "score": 5}'}}]))
    else:
        stub.push(Script(text='{"mood": "ok", "score": 5}'))
    llm = ChatOpenAI(model="companion", base_url=server.url + "/v1", api_key=KEYS["cn"],  # type: ignore[arg-type]
                     max_retries=0, default_headers={"X-Candor-User": f"lc-{method}"})
    result = llm.with_structured_output(Mood, method=method).invoke("How are you?")
    assert result == Mood(mood="ok", score=5)
