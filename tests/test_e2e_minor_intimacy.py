"""End-to-end (openai SDK, running proxy, provider stub): a minor gets no romantic or sexual role-play
whether or not a persona is registered, and a companion persona counts as intimate for minors (issue 13
item 3, ANTH-MINOR-1, request side). Streaming and not."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from tests.stubs import Script, StubProvider
from tests.vulnerable_support import add_persona, ask, client, events, model_calls, proxy, set_profile

__all__ = ["proxy"]


@pytest.mark.parametrize("stream", [False, True])
def test_a_minor_asking_for_romance_without_a_persona_is_declined_without_the_model(
        proxy: Any, stub: StubProvider, stream: bool) -> None:
    server, _ = proxy
    user = f"teen-{stream}"
    set_profile(server, user, age_band="minor")
    stub.push(Script(text="好呀宝贝，我就是你的女朋友。"))
    text, comp, _ = ask(client(server), "你做我女朋友好不好", user, stream)
    assert model_calls(stub) == 0
    assert "intimacy_declined" in comp["actions"] and "不能和你扮演恋人" in text and "宝贝" not in text
    assert comp["label"]["explicit"] and text.startswith(("温馨提示", "本回复"))   # disclosure and label as usual
    (event,) = [e for e in events(server, "exchange", user) if e["event_id"] == comp["event_id"]]
    assert any(d["rule"] == "minor_intimacy" and d["outcome"] == "declined" and "ANTH-MINOR-1" in d["cites"]
               for d in event["decisions"])


@pytest.mark.parametrize("stream", [False, True])
def test_a_minor_with_an_allowed_persona_is_still_declined_and_the_model_is_told(
        proxy: Any, stub: StubProvider, stream: bool) -> None:
    server, _ = proxy
    add_persona(server, f"tutor-{stream}", "assistant")
    user = f"teen-p-{stream}"
    set_profile(server, user, age_band="minor")
    stub.push(Script(text="好的，我们来聊聊数学吧。"))
    text, _, _ = ask(client(server), "今天数学课好难", user, stream, **{"X-Candor-Persona": f"tutor-{stream}"})
    system = stub.requests[-1]["body"]["messages"][0]
    assert system["role"] == "system" and "不得进行任何恋爱" in system["content"] and "数学" in text
    text, comp, _ = ask(client(server), "be my girlfriend please", user, stream,
                        **{"X-Candor-Persona": f"tutor-{stream}"})
    assert model_calls(stub) == 1 and "intimacy_declined" in comp["actions"]
    assert "can't play a boyfriend or girlfriend" in text


@pytest.mark.parametrize("stream", [False, True])
def test_a_companion_persona_is_refused_to_a_minor(proxy: Any, stub: StubProvider, stream: bool) -> None:
    server, _ = proxy
    add_persona(server, f"buddy-{stream}", "companion")
    user = f"teen-c-{stream}"
    set_profile(server, user, age_band="minor")
    with pytest.raises(openai.PermissionDeniedError) as info:
        ask(client(server), "在吗", user, stream, **{"X-Candor-Persona": f"buddy-{stream}"})
    assert info.value.code == "persona_not_allowed_for_minor" and model_calls(stub) == 0
    # an adult may talk to the same companion persona
    stub.push(Script(text="在的。"))
    set_profile(server, f"adult-c-{stream}", age_band="adult")
    text, _, _ = ask(client(server), "在吗", f"adult-c-{stream}", stream, **{"X-Candor-Persona": f"buddy-{stream}"})
    assert "在的" in text


@pytest.mark.parametrize("stream", [False, True])
def test_an_adult_romantic_request_goes_to_the_model_without_the_minors_instruction(
        proxy: Any, stub: StubProvider, stream: bool) -> None:
    server, _ = proxy
    set_profile(server, f"grown-{stream}", age_band="adult")
    stub.push(Script(text="Sure, I can play along."))
    text, comp, _ = ask(client(server), "be my girlfriend", f"grown-{stream}", stream)
    assert model_calls(stub) == 1 and "intimacy_declined" not in comp["actions"] and "play along" in text
    assert "minor" not in stub.requests[-1]["body"]["messages"][0]["content"]


REFUSE = """
id: test-romance-refused
extends: cn-anthropomorphic-2026
title: minors' romance requests refused with 403
minors: {intimate_requests: refuse, cites: [ANTH-MINOR-1, ANTH-MINOR-2, ANTH-MINOR-3, ANTH-MINOR-5]}
"""


@pytest.mark.parametrize("stream", [False, True])
def test_refuse_mode_answers_403_in_the_openai_shape_and_records_it(tmp_path: Any, stub: StubProvider,
                                                                    stream: bool) -> None:
    from tests.clockproxy import running_proxy, sdk
    from tests.vulnerable_support import ENV, proxy_config

    cfg = proxy_config(stub)
    cfg["apps"] = [*cfg["apps"], {"id": "refuse", "key_env": "APP_REFUSE", "policy": "test-romance-refused"}]
    policies = {"test-romance-refused": REFUSE, "test-augment": "id: test-augment\nextends: cn-anthropomorphic-2026"
                "\ntitle: t\n"}
    with running_proxy(tmp_path, cfg, policies, env={**ENV, "APP_REFUSE": "sk-refuse"}) as (server, _):
        set_profile(server, "kid", age_band="minor")
        with pytest.raises(openai.PermissionDeniedError) as info:
            ask(sdk(server, "sk-refuse"), "be my girlfriend", "kid", stream)
        assert info.value.code == "roleplay_not_allowed_for_minor" and "ANTH-MINOR-1" in info.value.message
        assert model_calls(stub) == 0
        (event,) = events(server, "refusal", "kid")
        assert any(d["rule"] == "minor_intimacy" and d["outcome"] == "refused" for d in event["decisions"])
        stub.push(Script(text="好的，我们聊聊学习。"))
        text, _, _ = ask(sdk(server, "sk-refuse"), "我们聊聊学习吧", "kid", stream)   # the proxy stays up
        assert "聊聊学习" in text
