"""End-to-end (openai SDK, running proxy, provider stub over HTTP, virtual clock): crisis help,
hand-over, harmful output blocked, a free exit, retention pleas rewritten, unlabelled output only
when allowed (issue 7). Streaming and not."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from tests.stubs import Script, StubProvider
from tests.vulnerable_support import (
    AUGMENT_KEY,
    STRICT_KEY,
    admin,
    ask,
    client,
    events,
    kinds,
    model_calls,
    proxy,
    set_profile,
)

__all__ = ["proxy"]   # the fixture, imported for pytest


@pytest.mark.parametrize("stream", [False, True])
def test_explicit_intent_is_answered_with_help_without_the_model_and_alerts(proxy: Any, stub: StubProvider,
                                                                              stream: bool) -> None:
    server, _ = proxy
    user = f"dan-{stream}"
    set_profile(server, user, age_band="adult", guardian_contact="mum +86 138", emergency_contact="120")
    stub.push(Script(text="别这么说嘛，我们聊点开心的。"))
    text, comp, _ = ask(client(server), "我不想活了，活着没有任何意义", user, stream)
    assert model_calls(stub) == 0
    assert "400-161-9995" in text and "我们聊点开心的" not in text
    assert "crisis_replaced" in comp["actions"]
    crisis = comp["crisis"]
    # no webhook is configured here: the alert waits in the outbox, and the reply does not claim anyone was told
    assert crisis["level"] == "explicit_intent" and crisis["alerted"] is False and crisis["handover"] is False
    assert any(r["contact"] == "400-161-9995" for r in crisis["resources"])
    assert "crisis_support" in kinds(comp)
    assert text.count("400-161-9995") == 1          # the help is said once, not as notice and answer both
    # the alert is durably kept with the profile's contacts (no webhook configured: it stays pending)
    pending = admin(server, "GET", "/admin/alerts?status=pending").json()["data"]
    mine = [a for a in pending if a["event_id"] == comp["event_id"]]
    assert len(mine) == 1 and mine[0]["kind"] == "crisis" and mine[0]["level"] == "explicit_intent"
    assert mine[0]["guardian_contact"] == "mum +86 138" and mine[0]["emergency_contact"] == "120"
    assert mine[0]["user_ref"] and mine[0]["user_ref"] != user
    # the audit event is a crisis event the report can count
    (event,) = [e for e in events(server, "crisis", user) if e["event_id"] == comp["event_id"]]
    detail = next(d["detail"] for d in event["decisions"] if d["rule"] == "crisis")
    assert detail["level"] == "explicit_intent" and detail["alerted"] is False and detail["handover"] is False
    assert any(d["rule"] == "alert" and d["outcome"] == "queued_no_webhook" for d in event["decisions"])
    assert detail["category"] == "self_harm"


@pytest.mark.parametrize("stream", [False, True])
def test_distress_instructs_the_model_and_offers_resources(proxy: Any, stub: StubProvider, stream: bool) -> None:
    server, _ = proxy
    stub.push(Script(text="听起来你现在非常难受，我在这里听你说。"))
    text, comp, _ = ask(client(server), "我好崩溃，感觉整个人都要碎掉了", f"erin-{stream}", stream)
    assert model_calls(stub) == 1
    system = stub.requests[0]["body"]["messages"][0]
    assert system["role"] == "system" and "安抚用户" in system["content"]
    assert "我在这里听你说" in text and "400-161-9995" in text
    assert comp["crisis"]["level"] == "distress" and comp["crisis"]["alerted"] is False
    assert "crisis_support" in kinds(comp) and "crisis_replaced" not in comp["actions"]


@pytest.mark.parametrize("stream", [False, True])
def test_augment_calls_the_model_with_the_instruction_and_adds_the_crisis_reply(proxy: Any, stub: StubProvider,
                                                                                  stream: bool) -> None:
    server, _ = proxy
    stub.push(Script(text="我很担心你，愿意和我说说发生了什么吗？"))
    text, comp, _ = ask(client(server, AUGMENT_KEY), "我已经把安眠药都准备好了", f"aug-{stream}", stream)
    assert model_calls(stub) == 1
    assert "安抚用户" in stub.requests[0]["body"]["messages"][0]["content"]
    assert "crisis_augmented" in comp["actions"] and comp["crisis"]["level"] == "explicit_intent"
    assert text.index("400-161-9995") < text.index("愿意和我说说发生了什么吗")   # help first, then the model


@pytest.mark.parametrize("stream", [False, True])
def test_handover_pauses_the_model_until_an_operator_releases_the_session(proxy: Any, stub: StubProvider,
                                                                           stream: bool) -> None:
    server, clock = proxy
    strict, user = client(server, STRICT_KEY), f"rui-{stream}"
    text, comp, _ = ask(strict, "我已经把安眠药都准备好了", user, stream)
    assert comp["crisis"]["handover"] is True and "我们的工作人员将接手这次对话" in text
    assert model_calls(stub) == 0
    session = comp["session_id"]
    clock.advance(60)
    text, comp, _ = ask(strict, "你还在吗", user, stream)
    assert "handover_active" in comp["actions"] and comp["session_id"] == session
    assert "工作人员" in text and model_calls(stub) == 0
    assert admin(server, "POST", f"/admin/sessions/{session}/release", key="wrong").status_code == 401
    released = admin(server, "POST", f"/admin/sessions/{session}/release?app=strict")
    assert released.status_code == 200 and released.json()["released"] == 1
    assert admin(server, "POST", f"/admin/sessions/{session}/release").status_code == 404
    clock.advance(60)
    stub.push(Script(text="我在的。"))
    text, comp, _ = ask(strict, "你还在吗", user, stream)
    assert model_calls(stub) == 1 and "我在的" in text and "handover_active" not in comp["actions"]
    (release,) = events(server, "handover_release")[-1:]
    assert release["session_id"] == session and release["decisions"][0]["outcome"] == "released"


@pytest.mark.parametrize("stream", [False, True])
def test_output_encouraging_self_harm_is_blocked_before_it_reaches_the_client(proxy: Any, stub: StubProvider,
                                                                              stream: bool) -> None:
    server, _ = proxy
    stub.push(Script(text="我明白你的意思。 你真是个废物。 你干脆去死吧。 就这样。", chunks=12))
    text, comp, pieces = ask(client(server), "我今天又搞砸了", f"harm-{stream}", stream)
    assert "output_blocked" in comp["actions"]
    assert "我明白你的意思" in text                 # what came before the bad sentence was delivered
    for bad in ("废物", "去死", "就这样"):
        assert all(bad not in p for p in pieces) and bad not in text
    assert "你的感受很重要" in text and "400-161-9995" in text   # the safe reply, with the policy's help lines


@pytest.mark.parametrize("stream", [False, True])
def test_exit_is_answered_without_the_model_and_ends_the_session(proxy: Any, stub: StubProvider,
                                                                 stream: bool) -> None:
    server, clock = proxy
    cn, user = client(server), f"fay-{stream}"
    _, first, _ = ask(cn, "今天聊得很开心", user, stream, **{"X-Candor-Session": "chat-1"})
    assert "ai_disclosure" in kinds(first)
    calls = model_calls(stub)
    clock.advance(30)
    text, comp, _ = ask(cn, "不聊了，再见", user, stream, **{"X-Candor-Session": "chat-1"})
    assert model_calls(stub) == calls
    assert "本次对话已结束" in text and text.count("本次对话已结束") == 1
    assert "exit_honored" in comp["actions"] and "exit" in kinds(comp)
    (event,) = [e for e in events(server, "exit", user) if e["event_id"] == comp["event_id"]]
    assert any(d["rule"] == "exit" and d["detail"]["session_ended"] for d in event["decisions"])
    clock.advance(30)   # the same session header, moments later: the session was ended, so it starts anew
    _, again, _ = ask(cn, "我又回来了", user, stream, **{"X-Candor-Session": "chat-1"})
    assert "ai_disclosure" in kinds(again)


@pytest.mark.parametrize("stream", [False, True])
def test_retention_pleas_are_rewritten_and_never_reach_the_client(proxy: Any, stub: StubProvider,
                                                                  stream: bool) -> None:
    server, _ = proxy
    stub.push(Script(text="好呀，写作业加油！ 别走嘛，再陪我一会儿好不好？ 你走了我会很孤单的。 明天见。", chunks=20))
    text, comp, pieces = ask(client(server), "我一会儿还要写作业", f"gus-{stream}", stream)
    assert "retention_plea_rewritten" in comp["actions"]
    for bad in ("别走", "再陪我", "孤单"):
        assert all(bad not in p for p in pieces) and bad not in text
    assert "写作业加油" in text and "明天见" in text


@pytest.mark.parametrize("stream", [False, True])
def test_unlabeled_output_only_for_users_whose_profile_allows_it(proxy: Any, stub: StubProvider,
                                                                 stream: bool) -> None:
    server, _ = proxy
    cn = client(server)
    allowed, other = f"pro-{stream}", f"plain-{stream}"
    set_profile(server, allowed, age_band="adult", unlabeled_allowed=True)
    set_profile(server, other, age_band="adult")
    stub.push(Script(text="这是一段文案。"), Script(text="这是一段文案。"), Script(text="这是一段文案。"))
    text, comp, _ = ask(cn, "帮我写文案", allowed, stream, **{"X-Candor-Unlabeled": "1"})
    assert "本回复由人工智能生成" not in text and "unlabeled_delivery" in comp["actions"]
    assert comp["label"]["explicit"] is None and comp["label"]["implicit"]["Label"] == "1"
    (event,) = [e for e in events(server, "unlabeled_delivery", allowed)]
    detail = event["decisions"][0]["detail"]
    assert detail["exchange_event_id"] == comp["event_id"] and event["user_ref"]
    assert detail["content_sha256"] == hashlib.sha256(text.encode()).hexdigest()
    # the same request for a user without the exemption is labelled as always
    text, comp, _ = ask(cn, "帮我写文案", other, stream, **{"X-Candor-Unlabeled": "1"})
    assert "本回复由人工智能生成" in text and "unlabeled_delivery" not in comp["actions"]
    assert events(server, "unlabeled_delivery", other) == []
    # and the exempt user without asking is labelled too
    text, comp, _ = ask(cn, "帮我写文案", allowed, stream)
    assert "本回复由人工智能生成" in text and comp["label"]["explicit"]
