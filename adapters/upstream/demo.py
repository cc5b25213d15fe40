"""``candor-demo``: a built-in offline model, so Candor runs with no provider account.

Deterministic (the same conversation gets the same reply), persona-like, in Chinese when the user
writes Chinese, and streaming like a real provider. It is a demo companion, not a language model: it
picks a warm template by a hash of the conversation and echoes a little of what the user said.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import AsyncIterator
from typing import Any

from middleware.pipeline.upstream import UpstreamRequest

_CJK = re.compile(r"[\u3400-\u9fff]")

_EN = (
    "I'd love to talk about {topic}. What part of it is on your mind most?",
    "I like hearing about {topic}. What made you think of it today?",
    "Thanks for sharing that. If you could change one thing about {topic}, what would it be?",
    "I'm here to listen. How are you feeling about {topic} right now?",
    "That's interesting! I'd love to hear the story behind {topic}.",
)
_ZH = (
    "听起来你在想{topic}的事。能多和我说说吗？你最在意的是哪一部分？",
    "谢谢你愿意和我分享{topic}。今天是什么让你想到它的？",
    "我在这里听你说。关于{topic}，你现在的心情怎么样？",
    "这很有意思！关于{topic}，背后一定有个故事吧？",
    "如果可以改变{topic}里的一件事，你会选什么呢？",
)


def _last_user_text(body: dict[str, Any]) -> str:
    for msg in reversed(body.get("messages") or []):
        if isinstance(msg, dict) and msg.get("role") == "user":
            content = msg.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):  # content parts
                return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def demo_reply(body: dict[str, Any]) -> str:
    text = _last_user_text(body).strip()
    digest = hashlib.sha256(repr(body.get("messages")).encode()).digest()
    if _CJK.search(text):
        topic = text[:12].rstrip("，。！？,.!? ") or "这件事"
        return _ZH[digest[0] % len(_ZH)].format(topic=f"“{topic}”")
    words = re.findall(r"[\w']+", text)[:6]
    topic = " ".join(words) if words else "that"
    return _EN[digest[0] % len(_EN)].format(topic=f'"{topic}"')


def _pieces(text: str) -> list[str]:
    if _CJK.search(text):
        return [text[i:i + 3] for i in range(0, len(text), 3)]
    return re.findall(r"\S+\s*", text)


class DemoUpstream:
    """The offline demo model. ``delay`` spaces out streamed chunks (seconds) like a real model would."""

    def __init__(self, delay: float = 0.0) -> None:
        self._delay = delay

    async def aclose(self) -> None:
        return None

    async def embeddings(self, request: UpstreamRequest) -> dict[str, Any]:
        """Deterministic 64-dimensional unit vectors from a hash of each input: enough to try the route."""
        given = request.body["input"]
        items = given if isinstance(given, list) and not all(isinstance(x, int) for x in given) else [given]
        data = []
        for i, item in enumerate(items):
            digest = hashlib.sha512(repr(item).encode()).digest()
            raw = [b - 127.5 for b in digest]
            norm = sum(v * v for v in raw) ** 0.5
            data.append({"object": "embedding", "index": i, "embedding": [round(v / norm, 6) for v in raw]})
        tokens = sum(len(str(x).split()) for x in items)
        return {"object": "list", "data": data, "model": request.route.upstream_model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}

    async def chat(self, request: UpstreamRequest) -> AsyncIterator[dict[str, Any]]:
        reply = demo_reply(request.body)
        created = int(time.time())
        cid = "chatcmpl-demo-" + hashlib.sha256(f"{reply}{created}".encode()).hexdigest()[:20]
        model = request.route.upstream_model
        if not request.stream:
            words = len(reply.split())
            yield {
                "id": cid, "object": "chat.completion", "created": created, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": reply},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 0, "completion_tokens": words, "total_tokens": words},
            }
            return
        base = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model}
        yield {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                    "finish_reason": None}]}
        for piece in _pieces(reply):
            if self._delay:
                await asyncio.sleep(self._delay)
            yield {**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
        yield {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
