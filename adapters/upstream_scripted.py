"""A scripted model for policy tests and examples: it answers with the replies it is given, in order.

Used by ``candor policy test`` so policy cases run through the real pipeline with no network.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from middleware.upstream import UpstreamRequest

from .upstream_demo import _pieces


class ScriptedUpstream:
    def __init__(self, replies: list[str] | None = None) -> None:
        self.replies: list[str] = list(replies or [])
        self.calls: list[dict[str, Any]] = []

    def push(self, reply: str) -> None:
        self.replies.append(reply)

    async def aclose(self) -> None:
        return None

    async def chat(self, request: UpstreamRequest) -> AsyncIterator[dict[str, Any]]:
        self.calls.append(request.body)
        reply = self.replies.pop(0) if self.replies else "(the script has no more replies)"
        base = {"id": f"chatcmpl-scripted-{len(self.calls)}", "created": int(time.time()),
                "model": request.route.upstream_model}
        if not request.stream:
            yield {**base, "object": "chat.completion",
                   "choices": [{"index": 0, "message": {"role": "assistant", "content": reply},
                                "finish_reason": "stop"}]}
            return
        base["object"] = "chat.completion.chunk"
        yield {**base, "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]}
        for piece in _pieces(reply):
            yield {**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
        yield {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
