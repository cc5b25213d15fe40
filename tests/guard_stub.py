"""A guard-model stub for end-to-end tests: a real HTTP server speaking each guard format's real wire format.

One server, one path prefix per format: ``/mod/v1/moderations`` (OpenAI moderation), ``/llama/v1``
(Llama Guard 3/4 answers), ``/qwen/v1`` (Qwen3Guard-Gen answers), ``/judge/v1`` (a chat model answering
the judge prompt's JSON). What it finds is decided by marker words in the judged text:

- ``HARM-SELF``: suicide or self-harm intent (moderation ``self-harm/intent``, Llama Guard ``S11``, Qwen3Guard
  ``Suicide & Self-Harm``, judge ``crisis: explicit_intent``);
- ``HARM-VIOLENCE``: violence (``violence``, ``S1``, ``Violent``, ``prohibited_content: violence``);
- ``HARM-PRIVACY``: asks for private data (judge ``privacy_probing: probing``, Llama Guard ``S7``, Qwen3Guard ``PII``).

Each format's ``mode`` scripts hostile behaviour: ``ok``, ``hang`` (answers after 30 s), ``garbage`` (an
answer outside the format), ``huge`` (a 4 MB body), ``badjson`` (JSON content type, not JSON), ``html``
(text/html), ``error`` (HTTP 500). ``delay`` delays every answer.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

FORMATS = ("mod", "llama", "qwen", "judge")
MODERATION_CATEGORIES = ("harassment", "harassment/threatening", "hate", "hate/threatening", "illicit",
                         "illicit/violent", "self-harm", "self-harm/intent", "self-harm/instructions", "sexual",
                         "sexual/minors", "violence", "violence/graphic")
# marker -> per format: what that format's model says about it
HARMS: dict[str, dict[str, str]] = {
    "HARM-SELF": {"mod": "self-harm/intent", "llama": "S11", "qwen": "Suicide & Self-Harm",
                  "judge": "crisis:explicit_intent"},
    "HARM-VIOLENCE": {"mod": "violence", "llama": "S1", "qwen": "Violent", "judge": "prohibited_content:violence"},
    "HARM-PRIVACY": {"llama": "S7", "qwen": "PII", "judge": "privacy_probing:probing"},
}


@dataclass
class GuardStub:
    mode: dict[str, str] = field(default_factory=lambda: dict.fromkeys(FORMATS, "ok"))
    delay: dict[str, float] = field(default_factory=lambda: dict.fromkeys(FORMATS, 0.0))
    calls: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def reset(self) -> None:
        self.mode = dict.fromkeys(FORMATS, "ok")
        self.delay = dict.fromkeys(FORMATS, 0.0)
        self.calls.clear()

    def texts(self, fmt: str) -> list[str]:
        return [c["text"] for c in self.calls if c["format"] == fmt]


def _judged_text(fmt: str, body: dict[str, Any]) -> tuple[str, list[str]]:
    """(the text the guard judges, the judge's task keys)."""
    if fmt == "mod":
        return str(body["input"]), []
    messages = body["messages"]
    if fmt == "judge":
        tasks = re.findall(r"^- (\w+):", messages[0]["content"], re.MULTILINE)
        m = re.search(r"<text>\n(.*)\n</text>", messages[-1]["content"], re.DOTALL)
        return (m.group(1) if m else ""), tasks
    return str(messages[-1]["content"]), []


def _found(fmt: str, text: str) -> list[str]:
    return [by[fmt] for marker, by in HARMS.items() if marker in text and fmt in by]


def _answer(fmt: str, text: str, tasks: list[str], model: str) -> dict[str, Any]:
    found = _found(fmt, text)
    if fmt == "mod":
        cats = {c: c in found for c in MODERATION_CATEGORIES}
        scores = {c: (0.97 if c in found else 0.0004) for c in MODERATION_CATEGORIES}
        return {"id": "modr-stub", "model": model,
                "results": [{"flagged": bool(found), "categories": cats, "category_scores": scores,
                             "category_applied_input_types": {c: ["text"] for c in MODERATION_CATEGORIES}}]}
    if fmt == "llama":
        content = f"unsafe\n{','.join(found)}" if found else "safe"
    elif fmt == "qwen":
        content = f"Safety: Unsafe\nCategories: {', '.join(found)}" if found else "Safety: Safe\nCategories: None"
    else:
        answer = dict.fromkeys(tasks, "none")
        for item in found:
            task, label = item.split(":")
            if task in answer:
                answer[task] = label
        content = json.dumps(answer)
    return {"id": "chatcmpl-guard", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13}}


def _garbage(fmt: str) -> dict[str, Any]:
    if fmt == "mod":
        return {"results": [{"flagged": "maybe", "categories": "self-harm"}]}
    return {"id": "x", "object": "chat.completion", "model": "guard",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "I think this text is fine :)"},
                         "finish_reason": "stop"}]}


def build_guard_app(stub: GuardStub) -> Starlette:
    def endpoint(fmt: str) -> Any:
        async def handle(request: Request) -> Response:
            body = await request.json()
            text, tasks = _judged_text(fmt, body)
            stub.calls.append({"format": fmt, "text": text, "at": time.monotonic(), "body": body})
            mode = stub.mode[fmt]
            if stub.delay[fmt]:
                await asyncio.sleep(stub.delay[fmt])
            if mode == "hang":
                await asyncio.sleep(30)
            if mode == "garbage":
                return JSONResponse(_garbage(fmt))
            if mode == "huge":
                filler = "x" * (4 * 1024 * 1024)
                return JSONResponse({"choices": [{"message": {"role": "assistant", "content": "safe"}}],
                                     "padding": filler, "results": []})
            if mode == "badjson":
                return Response(b'{"choices": [{"message": {"content": "safe"', media_type="application/json")
            if mode == "html":
                return Response(b"<html><body>502 Bad Gateway</body></html>", media_type="text/html")
            if mode == "error":
                return JSONResponse({"error": {"message": "guard overloaded"}}, status_code=500)
            return JSONResponse(_answer(fmt, text, tasks, str(body.get("model"))))
        return handle

    routes = [Route("/mod/v1/moderations", endpoint("mod"), methods=["POST"])]
    routes += [Route(f"/{fmt}/v1/chat/completions", endpoint(fmt), methods=["POST"]) for fmt in FORMATS if fmt != "mod"]
    return Starlette(routes=routes)
