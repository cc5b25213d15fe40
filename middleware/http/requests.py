"""Reading and bounding a chat request: size limit, JSON, and the shape the pipeline relies on."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from middleware.http.chat_schema import check_fields, check_message
from middleware.http.errors import CandorError, invalid_request


def too_large(limit: int) -> CandorError:
    return CandorError(413, "request_too_large",
                       f"the request body is larger than {limit} bytes (server.max_body_bytes): "
                       "send fewer or shorter messages, or ask the operator to raise the limit")


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise too_large(limit)
        except ValueError:
            raise invalid_request("Content-Length is not a number") from None
        return await request.body()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_chat_body(raw: bytes) -> dict[str, Any]:
    if not raw:
        raise invalid_request("the request body is empty: send a JSON object with 'model' and 'messages'")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise invalid_request(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise invalid_request("the request body must be a JSON object with 'model' and 'messages'")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise invalid_request("'model' is required and must be a string (GET /v1/models lists them)",
                              param="model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise invalid_request("'messages' is required and must be a non-empty array of messages",
                              param="messages")
    for i, msg in enumerate(messages):
        check_message(i, msg)
    check_fields(body)
    if body.get("n", 1) not in (1, None):
        raise invalid_request("'n' must be 1: Candor checks and labels each reply, one choice per request",
                              param="n")
    return body


def last_user_text(body: dict[str, Any]) -> str:
    """The text of the latest user message (content parts joined), for request-side rules."""
    for msg in reversed(body["messages"]):
        if msg.get("role") == "user":
            content = msg.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return " ".join(str(p.get("text", "")) for p in content
                                if isinstance(p, dict) and p.get("type") == "text")
            return ""
    return ""
