"""The pipeline's frames as the Responses API's wire format: one response object, or its SSE events.

The openai SDK and the Vercel AI SDK parse exactly these shapes: a ``response`` object whose ``output``
holds ``message`` items (``output_text`` parts) and ``function_call`` items, and, when streaming, the
events ``response.created`` ... ``response.completed`` with increasing ``sequence_number``s. Text the
proxy adds (notices, labels) is ordinary output text; ``compliance`` rides on the response object (and,
when streaming, on the response of ``response.created`` and ``response.completed``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import orjson

from middleware.http.errors import CandorError, crash_error, log_crash
from middleware.pipeline.exchange import Exchange
from middleware.pipeline.render import collect_reply
from middleware.pipeline.stages import End, Item, Passthrough, Pipeline, Text
from middleware.rules.base import RuleSet

PATH = "/v1/responses"


def _ids(ex: Exchange) -> tuple[str, str]:
    return f"resp_{ex.event_id}", f"msg_{ex.event_id}"


def response_object(ex: Exchange, status: str, output: list[dict[str, Any]],
                    usage: dict[str, Any] | None, finish: str | None = None) -> dict[str, Any]:
    req: dict[str, Any] = ex.state.responses_request or {}
    text = req.get("text") if isinstance(req.get("text"), dict) else {"format": {"type": "text"}}
    incomplete = None
    if finish == "length":
        status, incomplete = "incomplete", {"reason": "max_output_tokens"}
    elif finish == "content_filter":
        status, incomplete = "incomplete", {"reason": "content_filter"}
    return {
        "id": _ids(ex)[0], "object": "response", "created_at": int(ex.now), "status": status,
        "background": False, "error": None, "incomplete_details": incomplete,
        "instructions": req.get("instructions"), "max_output_tokens": req.get("max_output_tokens"),
        "metadata": req.get("metadata") or {}, "model": req.get("model") or ex.route.name,
        "output": output, "parallel_tool_calls": req.get("parallel_tool_calls", True),
        "previous_response_id": None, "reasoning": req.get("reasoning"), "store": False,
        "temperature": req.get("temperature"), "text": text, "tool_choice": req.get("tool_choice") or "auto",
        "tools": req.get("tools") or [], "top_p": req.get("top_p"), "truncation": "disabled",
        "usage": _usage(usage), "user": req.get("user"),
    }


def _usage(usage: dict[str, Any] | None) -> dict[str, Any] | None:
    if not isinstance(usage, dict):
        return None
    given = usage.get("prompt_tokens") or 0
    made = usage.get("completion_tokens") or 0
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0
    return {"input_tokens": given, "input_tokens_details": {"cached_tokens": cached},
            "output_tokens": made, "output_tokens_details": {"reasoning_tokens": reasoning},
            "total_tokens": usage.get("total_tokens") or given + made}


def _message(msg_id: str, text: str, status: str = "completed") -> dict[str, Any]:
    return {"type": "message", "id": msg_id, "status": status, "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]}


def _function_call(ex: Exchange, i: int, call: dict[str, Any]) -> dict[str, Any]:
    fn = call.get("function") or {}
    return {"type": "function_call", "id": f"fc_{ex.event_id}_{i}", "call_id": call.get("id") or f"call_{i}",
            "name": fn.get("name") or "", "arguments": fn.get("arguments") or "", "status": "completed"}


async def collect_response(pipeline: Pipeline, ex: Exchange, rules: RuleSet, first: Item,
                           source: AsyncIterator[Item]) -> dict[str, Any]:
    """Non-streaming: the chat reply collected as usual, then rewritten as a response object."""
    body = await collect_reply(pipeline, ex, rules, first, source)
    choice = body["choices"][0]
    message = choice.get("message") or {}
    output: list[dict[str, Any]] = []
    text = message.get("content")
    calls = message.get("tool_calls") or []
    if isinstance(text, str) and (text or not calls):
        output.append(_message(_ids(ex)[1], text))
    output.extend(_function_call(ex, i, c) for i, c in enumerate(calls))
    obj = response_object(ex, "completed", output, body.get("usage"), choice.get("finish_reason"))
    obj["compliance"] = body["compliance"]
    return obj


class _Events:
    """SSE events with the ``event:`` line and a running ``sequence_number``."""

    def __init__(self) -> None:
        self.seq = 0

    def __call__(self, kind: str, **data: Any) -> bytes:
        payload = {"type": kind, "sequence_number": self.seq, **data}
        self.seq += 1
        return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


async def stream_response(pipeline: Pipeline, ex: Exchange, rules: RuleSet, first: Item,
                          source: AsyncIterator[Item], on_done: Callable[[Exchange], None]) -> AsyncIterator[bytes]:
    """Streaming: the same frames as chat streaming, as Responses events. The record is durable before
    ``response.completed`` (as before ``[DONE]`` in chat)."""
    ev = _Events()
    msg_id = _ids(ex)[1]
    opened = False        # response.created sent
    item_open = False     # the message item and its text part are open
    index = 0             # output_index of the next item
    msg_index = 0
    parts: list[str] = []
    calls: dict[int, dict[str, Any]] = {}   # streamed tool-call deltas, assembled by their index

    def open_message() -> bytes:
        nonlocal item_open, index, msg_index
        item_open, msg_index = True, index
        index += 1
        return (ev("response.output_item.added", output_index=msg_index, item=_message(msg_id, "", "in_progress")
                   | {"content": []})
                + ev("response.content_part.added", item_id=msg_id, output_index=msg_index, content_index=0,
                     part={"type": "output_text", "text": "", "annotations": [], "logprobs": []}))

    try:
        async for frame in pipeline.frames(ex, rules, first, source):
            out: list[bytes] = []
            if not opened:
                opened = True
                created = response_object(ex, "in_progress", [], None)
                created["compliance"] = {**ex.compliance(), "actions": list(ex.actions)}
                out.append(ev("response.created", response=created))
                out.append(ev("response.in_progress", response={k: v for k, v in created.items()
                                                                 if k != "compliance"}))
            if isinstance(frame, Text) and frame.text:
                if not item_open:
                    out.append(open_message())
                parts.append(frame.text)
                out.append(ev("response.output_text.delta", item_id=msg_id, output_index=msg_index,
                              content_index=0, delta=frame.text, logprobs=[]))
            elif isinstance(frame, Passthrough):
                for delta in ((frame.chunk.get("choices") or [{}])[0].get("delta") or {}).get("tool_calls") or []:
                    _merge_call(calls, delta)
            elif isinstance(frame, End):
                trailers: list[dict[str, Any]] = frame.trailers or []
                usage = next((t["usage"] for t in trailers if isinstance(t.get("usage"), dict)), None)
                finish = next((c["finish_reason"] for t in trailers for c in (t.get("choices") or [])
                               if c.get("finish_reason")), None)
                for t in trailers:   # tool calls that arrived with the finishing chunk
                    for c in t.get("choices") or []:
                        for delta in (c.get("delta") or {}).get("tool_calls") or []:
                            _merge_call(calls, delta)
                output: list[dict[str, Any]] = []
                text = "".join(parts)
                if item_open or not calls:
                    if not item_open:
                        out.append(open_message())
                    part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
                    out.append(ev("response.output_text.done", item_id=msg_id, output_index=msg_index,
                                  content_index=0, text=text, logprobs=[]))
                    out.append(ev("response.content_part.done", item_id=msg_id, output_index=msg_index,
                                  content_index=0, part=part))
                    output.append(_message(msg_id, text))
                    out.append(ev("response.output_item.done", output_index=msg_index, item=output[-1]))
                for i in sorted(calls):
                    item = _function_call(ex, i, calls[i])
                    added = {**item, "status": "in_progress", "arguments": ""}
                    out.append(ev("response.output_item.added", output_index=index, item=added))
                    out.append(ev("response.function_call_arguments.delta", item_id=item["id"], output_index=index,
                                  delta=item["arguments"]))
                    out.append(ev("response.function_call_arguments.done", item_id=item["id"], output_index=index,
                                  arguments=item["arguments"]))
                    out.append(ev("response.output_item.done", output_index=index, item=item))
                    output.append(item)
                    index += 1
                await pipeline.record(ex)   # durable before response.completed
                done = response_object(ex, "completed", output, usage, finish)
                done["compliance"] = ex.compliance()
                out.append(ev("response.completed" if done["status"] == "completed" else "response.incomplete",
                              response=done))
            if out:
                yield b"".join(out)
    except CandorError as err:
        pipeline.upstream_failed(ex, err)
        ex.status, ex.kind = err.status, "error"
        await _record_quietly(pipeline, ex, err)
        yield _error_event(ev, err)
    except Exception as exc:
        log_crash(PATH, exc, event_id=ex.event_id)
        crash = crash_error()
        ex.status, ex.kind = crash.status, "error"
        await _record_quietly(pipeline, ex, crash)
        yield _error_event(ev, crash)
    except (asyncio.CancelledError, GeneratorExit):
        ex.status, ex.kind = 499, "error"
        gone = CandorError(499, "client_disconnected", "the client closed the connection mid-stream")
        with anyio.CancelScope(shield=True):
            await _record_quietly(pipeline, ex, gone)
        raise
    finally:
        with anyio.CancelScope(shield=True), anyio.move_on_after(5), contextlib.suppress(Exception):
            await source.aclose()  # type: ignore[attr-defined]
        on_done(ex)


def _merge_call(calls: dict[int, dict[str, Any]], delta: dict[str, Any]) -> None:
    i = delta.get("index", 0)
    call = calls.setdefault(i, {"id": None, "function": {"name": "", "arguments": ""}})
    if delta.get("id"):
        call["id"] = delta["id"]
    fn = delta.get("function") or {}
    if fn.get("name"):
        call["function"]["name"] += fn["name"]
    if fn.get("arguments"):
        call["function"]["arguments"] += fn["arguments"]


def _error_event(ev: _Events, err: CandorError) -> bytes:
    """The stream began: it ends with an ``error`` event (the openai SDK raises it as ``APIError``)."""
    body = err.body()["error"]
    return ev("error", code=err.code, message=err.message, param=err.param, error=body)


async def _record_quietly(pipeline: Pipeline, ex: Exchange, err: CandorError) -> None:
    try:
        await pipeline.record(ex, err)
    except Exception as exc:
        log_crash("audit", exc, event_id=ex.event_id)
