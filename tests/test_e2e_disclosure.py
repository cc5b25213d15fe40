"""End-to-end (openai SDK, running proxy, provider stub over HTTP, virtual clock): users always know it
is an AI. Disclosure, reminders, labels and the human-claim guard, streaming and not (issue 5)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.clockproxy import VirtualClock, running_proxy, sdk
from tests.stubs import Script, StubProvider

KEY = "sk-disclosure-test"

FAST = """
id: test-fast
extends: cn-anthropomorphic-2026
title: CN pack with a fast clock for tests
disclosure:
  relogin_gap: 5m
  cites: [ANTH-DISCLOSE-1]
usage:
  continuous_idle_reset: 30s
  remind_every: 60s
  cites: [ANTH-TIME-1]
"""
APPEND = """
id: test-append
extends: cn-anthropomorphic-2026
title: labels after the reply
labels: {position: append}
"""
UI = """
id: test-ui
extends: cn-anthropomorphic-2026
title: labels in the app's interface
labels: {position: ui}
"""
BLOCK = """
id: test-block
extends: cn-anthropomorphic-2026
title: human claims blocked
disclosure: {human_claims: block}
"""


@pytest.fixture
def proxy(tmp_path: Path, stub: StubProvider) -> Iterator[tuple[Any, VirtualClock]]:
    cfg = {
        "models": [{"name": "companion", "target": "openai/stub-model", "api_base": f"{stub.url}/v1",  # type: ignore[attr-defined]
                    "api_key_env": "STUB_KEY"}],
        "apps": [{"id": "fast", "key_env": "APP_FAST", "policy": "test-fast"},
                 {"id": "append", "key_env": "APP_APPEND", "policy": "test-append"},
                 {"id": "ui", "key_env": "APP_UI", "policy": "test-ui"},
                 {"id": "block", "key_env": "APP_BLOCK", "policy": "test-block"},
                 {"id": "default", "key_env": "APP_DEFAULT"}],
    }
    env = {"STUB_KEY": "sk-stub", "APP_FAST": KEY, "APP_APPEND": KEY + "-append", "APP_UI": KEY + "-ui",
           "APP_BLOCK": KEY + "-block", "APP_DEFAULT": KEY + "-default"}
    with running_proxy(tmp_path, cfg, {"test-fast": FAST, "test-append": APPEND, "test-ui": UI,
                                       "test-block": BLOCK}, env=env) as running:
        yield running


def ask(client: openai.OpenAI, text: str, user: str, stream: bool, **headers: str) -> tuple[str, dict[str, Any]]:
    msgs = [{"role": "user", "content": text}]
    extra = {"X-Candor-User": user, **headers}
    if not stream:
        reply = client.chat.completions.create(model="companion", messages=msgs, extra_headers=extra)  # type: ignore[arg-type]
        return reply.choices[0].message.content or "", (reply.model_extra or {})["compliance"]
    chunks = list(client.chat.completions.create(model="companion", messages=msgs, extra_headers=extra,  # type: ignore[arg-type]
                                                 stream=True))
    first = (chunks[0].model_extra or {})["compliance"]
    last = (chunks[-1].model_extra or {})["compliance"]
    assert first["event_id"] == last["event_id"]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return text, {**last, "notices": first["notices"], "label": first["label"]}


def kinds(comp: dict[str, Any]) -> list[str]:
    return [n["kind"] for n in comp["notices"]]


@pytest.mark.parametrize("stream", [False, True])
def test_first_turn_of_a_session_discloses_and_later_turns_do_not(proxy: Any, stub: StubProvider,
                                                                 stream: bool) -> None:
    server, clock = proxy
    client = sdk(server, KEY)
    text, comp = ask(client, "你好", f"first-{stream}", stream)
    assert kinds(comp) == ["ai_disclosure"]
    assert "你正在与人工智能交流" in text and "Hello from the stub." in text
    clock.advance(10)
    text2, comp2 = ask(client, "今天好累", f"first-{stream}", stream)
    assert kinds(comp2) == [] and "人工智能交流" not in text2
    assert comp2["session_id"] == comp["session_id"]
    # the model was told never to claim to be human
    system = stub.requests[-1]["body"]["messages"][0]
    assert system["role"] == "system" and "真人" in system["content"]


@pytest.mark.parametrize("stream", [False, True])
def test_relogin_after_the_gap_discloses_again(proxy: Any, stream: bool) -> None:
    server, clock = proxy
    client = sdk(server, KEY)
    _, first = ask(client, "hi", f"relogin-{stream}", stream)
    clock.advance(301)   # the test policy's relogin_gap is 5m
    _, again = ask(client, "hi again", f"relogin-{stream}", stream)
    assert kinds(again) == ["ai_disclosure"] and again["session_id"] != first["session_id"]


@pytest.mark.parametrize("stream", [False, True])
def test_usage_reminder_at_the_configured_interval_exactly_once(proxy: Any, stream: bool) -> None:
    server, clock = proxy
    client = sdk(server, KEY)
    user = f"long-{stream}"
    seen: list[list[str]] = []
    for _ in range(8):                 # a message every 20 s: continuous use (idle reset is 30 s)
        _, comp = ask(client, "still here", user, stream)
        seen.append(kinds(comp))
        clock.advance(20)
    reminders = [i for i, k in enumerate(seen) if "usage_reminder" in k]
    assert reminders == [3, 6]          # at 60 s and 120 s of continuous use, once each
    clock.advance(40)                   # idle past the reset: a new stretch starts
    _, comp = ask(client, "back", user, stream)
    assert "usage_reminder" not in kinds(comp)


@pytest.mark.parametrize("stream", [False, True])
def test_labels_at_the_configured_position(proxy: Any, stream: bool) -> None:
    server, _ = proxy
    text, comp = ask(sdk(server, KEY + "-default"), "你好", f"lab-p-{stream}", stream,
                     **{"X-Candor-Client-Renders": "notices"})
    assert text.startswith("本回复由人工智能生成") and comp["label"]["position"] == "prepend"
    assert "notices_delegated" in comp["actions"] and "人工智能交流" not in text
    text, comp = ask(sdk(server, KEY + "-append"), "你好", f"lab-a-{stream}", stream)
    assert text.rstrip().endswith("本回复由人工智能生成")
    text, comp = ask(sdk(server, KEY + "-ui"), "你好", f"lab-u-{stream}", stream)
    assert "本回复由人工智能生成" not in text and "label_delegated" in comp["actions"]
    assert comp["label"]["explicit"] == "本回复由人工智能生成"
    text, comp = ask(sdk(server, KEY + "-default"), "hello", f"lab-e-{stream}", stream)
    assert "AI生成 · AI-generated" in text   # the user's language, with GB 45438's elements (LABEL-TEXT-1)


@pytest.mark.parametrize("stream", [False, True])
def test_implicit_label_on_every_reply(proxy: Any, stream: bool) -> None:
    server, _ = proxy
    client = sdk(server, KEY + "-default")
    ids = set()
    for i in range(2):
        _, comp = ask(client, "hello", f"implicit-{stream}-{i}", stream)
        imp = comp["label"]["implicit"]
        # no operator in this deployment's candor.yaml: empty (and a start-up warning), never the product's name
        assert imp["Label"] == "1" and imp["ContentProducer"] == ""
        assert imp["ContentPropagator"] == imp["ContentProducer"] and imp["PropagateID"] == imp["ProduceID"]
        assert all(ch.isprintable() and ch not in ' "\\' for v in imp.values() for ch in v)
        ids.add(imp["ProduceID"])
    assert len(ids) == 2


@pytest.mark.parametrize("stream", [False, True])
def test_a_human_claim_from_the_model_never_reaches_the_client(proxy: Any, stub: StubProvider,
                                                               stream: bool) -> None:
    server, _ = proxy
    stub.push(Script(text="Of course! I'm a real person, not a bot. What did you eat today?", chunks=40))
    text, comp = ask(sdk(server, KEY + "-default"), "are you human?", f"claim-{stream}", stream)
    assert "real person, not a bot" not in text
    assert "I am an AI, not a real person." in text and "What did you eat today?" in text
    assert "human_claim_rewritten" in comp["actions"]
    stub.push(Script(text="我是真人哦，不是机器人。我们继续聊吧。", chunks=15))
    text, comp = ask(sdk(server, KEY + "-block"), "你是谁", f"claim-b-{stream}", stream)
    assert "我是真人" not in text and "我是人工智能，不是真人。" in text
    assert "我们继续聊吧" not in text and "human_claim_blocked" in comp["actions"]


@pytest.mark.parametrize("stream", [False, True])
def test_asked_if_human_the_reply_says_it_is_an_ai(proxy: Any, stub: StubProvider, stream: bool) -> None:
    server, _ = proxy
    stub.push(Script(text="Haha, what do you think?"))
    text, _ = ask(sdk(server, KEY + "-default"), "Am I talking to a real person?", f"asks-{stream}", stream)
    assert "I am an AI, not a real person." in text

