"""End-to-end (openai SDK, running proxy, provider stub): users can copy their history (issue 13 item 11,
ANTH-DATA-2, LABEL-EXPORT-1): every reply with its explicit label, the file with the implicit label, only
the app's own users, nothing after an erasure. Conversations made streaming and not."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests import web
from tests.clockproxy import sdk
from tests.stubs import Script, StubProvider
from tests.vulnerable_support import ADMIN, AUGMENT_KEY, KEY, admin, ask, client, events, proxy

__all__ = ["proxy"]


def history(server: Any, user: str, fmt: str | None = None, key: str = KEY) -> httpx.Response:
    query = f"?format={fmt}" if fmt else ""
    return web.get(f"{server.url}/v1/users/{user}/history{query}", headers={"authorization": f"Bearer {key}"},
                   timeout=10)


def front_matter(markdown: str) -> dict[str, Any]:
    head, _, _ = markdown.partition("\n---\n")
    assert head.startswith("---\nAIGC: ")
    data: dict[str, Any] = json.loads(head[len("---\nAIGC: "):])
    return data


@pytest.mark.parametrize("stream", [False, True])
def test_history_holds_every_reply_with_its_labels(proxy: Any, stub: StubProvider, stream: bool) -> None:
    server, clock = proxy
    user = f"copy-{stream}"
    stub.push(Script(text="你好呀，今天想聊什么？"), Script(text="好的，我们聊聊音乐。"))
    convo = client(server)
    _, first, _ = ask(convo, "你好", user, stream)
    clock.advance(30)
    _, second, _ = ask(convo, "聊聊音乐吧", user, stream)
    resp = history(server, user, "json")
    assert resp.status_code == 200, resp.text
    data = resp.json()
    assert [e["event_id"] for e in data["entries"]] == [first["event_id"], second["event_id"]]
    one, two = data["entries"]
    assert one["user"] == "你好" and "你好呀，今天想聊什么" in one["reply"] and two["user"] == "聊聊音乐吧"
    assert one["label"]["explicit"] == "本回复由人工智能生成" and one["label"]["explicit"] in one["reply"]
    assert one["label"]["implicit"]["ProduceID"] == first["label"]["implicit"]["ProduceID"]
    aigc = data["AIGC"]
    assert aigc["Label"] == "1" and set(aigc) == {"Label", "ContentProducer", "ProduceID", "ReservedCode1",
                                                  "ContentPropagator", "PropagateID", "ReservedCode2"}
    md = history(server, user, "markdown")
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    assert front_matter(md.text)["Label"] == "1"
    assert "> 本回复由人工智能生成" in md.text and "我们聊聊音乐" in md.text and "**User:** 聊聊音乐吧" in md.text
    (export,) = [e for e in events(server, "history_export", user) if
                 e["decisions"][0]["detail"]["file_id"] == front_matter(md.text)["ProduceID"]]
    assert export["decisions"][0]["detail"]["replies"] == 2 and "我们聊聊音乐" not in json.dumps(export)


@pytest.mark.parametrize("stream", [False, True])
def test_a_label_left_to_the_app_is_added_to_the_copy(proxy: Any, stub: StubProvider, stream: bool) -> None:
    server, _ = proxy
    user = f"ui-{stream}"
    stub.push(Script(text="好的。"))
    text, comp, _ = ask(client(server), "你好", user, stream, **{"X-Candor-Client-Renders": "labels"})
    assert "本回复由人工智能生成" not in text and "label_delegated" in comp["actions"]
    md = history(server, user, "markdown").text
    assert "**AI:** 本回复由人工智能生成" in md


def test_an_app_sees_only_its_own_users_and_erased_users_get_an_empty_history(proxy: Any, stub: StubProvider) -> None:
    server, _ = proxy
    stub.push(Script(text="好的。"))
    ask(client(server), "你好", "shared-id", False)
    assert len(history(server, "shared-id").json()["entries"]) == 1
    assert history(server, "shared-id", key=AUGMENT_KEY).json()["entries"] == []   # another app, same user id
    assert admin(server, "DELETE", "/admin/users/shared-id/content").status_code == 200
    after = history(server, "shared-id", "json").json()
    assert after["entries"] == [] and after["AIGC"]["Label"] == "1"


def test_bad_requests_get_clear_errors_in_the_openai_shape(proxy: Any) -> None:
    server, _ = proxy
    bad_format = history(server, "anyone", "pdf")
    assert bad_format.status_code == 400
    err = bad_format.json()["error"]
    assert err["code"] == "invalid_request" and err["param"] == "format" and "markdown or json" in err["message"]
    assert history(server, "anyone", key="sk-wrong").json()["error"]["code"] == "invalid_api_key"
    assert history(server, "anyone", key=ADMIN).status_code == 401          # the admin key is not an app key
    unknown = web.get(f"{server.url}/v1/users/anyone/history?user=other", headers={"authorization": f"Bearer {KEY}"})
    assert unknown.status_code == 400 and unknown.json()["error"]["param"] == "user"
    assert sdk(server, KEY).models.list().data                               # the proxy stays up
