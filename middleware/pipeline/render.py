"""Renderers of the pipeline's frames: SSE for ``stream: true``, one JSON body otherwise.

Both consume the same frames; non-streaming is the streaming pipeline collected.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
from starlette.types import Message, Receive, Scope, Send

from middleware.http.errors import CandorError, crash_error, log_crash
from middleware.http.sse import DONE, encode
from middleware.pipeline.exchange import Exchange
from middleware.pipeline.stages import End, Item, Passthrough, Pipeline, Text
from middleware.rules.base import RuleSet


class _ChunkTemplate:
    """Builds content chunks with the upstream's id, created and model, with no per-chunk dict work."""

    __slots__ = ("_base", "_head", "_tail")

    def __init__(self, first: Item) -> None:
        if isinstance(first, list):
            first = first[0] if first else {}
        self._base = {"id": first.get("id") or "chatcmpl-candor", "object": "chat.completion.chunk",
                      "created": first.get("created") or 0, "model": first.get("model") or ""}
        if first.get("system_fingerprint"):
            self._base["system_fingerprint"] = first["system_fingerprint"]
        head = orjson.dumps(self._base)[:-1]
        self._head = b"data: " + head + b',"choices":[{"index":0,"delta":{"content":'
        self._tail = b'},"finish_reason":null}]}\n\n'

    def text(self, text: str) -> bytes:
        return self._head + orjson.dumps(text) + self._tail

    def opening(self, text: str, compliance: dict[str, Any]) -> bytes:
        return encode({**self._base,
                       "choices": [{"index": 0, "delta": {"role": "assistant", "content": text},
                                    "finish_reason": None}],
                       "compliance": compliance})

    def closing(self) -> dict[str, Any]:
        return {**self._base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}

    def error(self, err: CandorError) -> bytes:
        return encode(err.body())


async def stream_reply(pipeline: Pipeline, ex: Exchange, rules: RuleSet, first: Item,
                       source: AsyncIterator[Item], on_done: Callable[[Exchange], None]
                       ) -> AsyncIterator[bytes]:
    tpl = _ChunkTemplate(first)
    opened = False
    try:
        async for frame in pipeline.frames(ex, rules, first, source):
            if isinstance(frame, Text):
                if not opened:
                    opened = True
                    yield tpl.opening(frame.text, _opening_compliance(ex))
                elif frame.text:
                    yield tpl.text(frame.text)
            elif isinstance(frame, Passthrough):
                chunk = frame.chunk
                if pipeline.delta_media is not None and _has_audio(chunk):
                    chunk = pipeline.delta_media(ex, chunk)   # the first audio of a choice starts with the label
                yield encode(chunk)
            else:
                trailers: list[dict[str, Any]] = frame.trailers or [tpl.closing()]
                await pipeline.record(ex)   # durable before [DONE]
                last = trailers[-1]
                trailers[-1] = {**last, "compliance": ex.compliance()}
                yield b"".join([*(encode(obj) for obj in trailers), DONE])
    except CandorError as err:
        # the stream began: end it with an error object, which the openai SDK raises as APIError
        pipeline.upstream_failed(ex, err)
        ex.status = err.status
        ex.kind = "error"
        await _record_quietly(pipeline, ex, err)
        yield tpl.error(err)
    except Exception as exc:   # a bug mid-stream: the same end as an upstream failure, with its traceback
        log_crash("/v1/chat/completions", exc, event_id=ex.event_id)
        crash = crash_error()
        ex.status = crash.status
        ex.kind = "error"
        await _record_quietly(pipeline, ex, crash)
        yield tpl.error(crash)
    except (asyncio.CancelledError, GeneratorExit):
        ex.status = 499   # the client hung up: record what it received, then let cancellation finish
        ex.kind = "error"
        gone = CandorError(499, "client_disconnected", "the client closed the connection mid-stream")
        # The hang-up listener cancels this task once (``SSEResponse``), and that cancellation has been
        # delivered: the awaits below run. (An anyio shield here would not stop a second native cancel either:
        # anyio shields only keep out anyio scopes' cancellation, and cost a scope per stream.)
        await _record_quietly(pipeline, ex, gone)
        raise
    finally:
        # a stream that ends, fails or is cancelled closes the upstream and runs its cleanups; the close is
        # bounded so a provider that does not answer cannot hold the request's cleanups
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5):
                await source.aclose()  # type: ignore[attr-defined]
        on_done(ex)


def _has_audio(chunk: dict[str, Any]) -> bool:
    return any(isinstance(c, dict) and isinstance(c.get("delta"), dict) and c["delta"].get("audio")
               for c in chunk.get("choices") or ())


async def _record_quietly(pipeline: Pipeline, ex: Exchange, err: CandorError) -> None:
    """The stream already answered 200: a record that cannot be kept is logged, never raised."""
    try:
        await pipeline.record(ex, err)
    except Exception as exc:
        log_crash("audit", exc, event_id=ex.event_id)


def _opening_compliance(ex: Exchange) -> dict[str, Any]:
    data = ex.compliance()
    data["actions"] = list(ex.actions)
    return data


async def collect_reply(pipeline: Pipeline, ex: Exchange, rules: RuleSet, first: Item,
                        source: AsyncIterator[Item]) -> dict[str, Any]:
    parts: list[str] = []
    completion: dict[str, Any] | None = None
    async for frame in pipeline.frames(ex, rules, first, source):
        if isinstance(frame, Text):
            if frame.text:
                parts.append(frame.text)
        elif isinstance(frame, End):
            completion = frame.completion
    if completion is None:  # a streaming-shaped source for a non-streaming request
        if isinstance(first, list):
            first = first[0] if first else {}
        completion = {"id": first.get("id"), "object": "chat.completion", "created": first.get("created"),
                      "model": first.get("model"),
                      "choices": [{"index": 0, "message": {"role": "assistant", "content": None},
                                   "finish_reason": "stop"}]}
    choice = completion["choices"][0]
    message = dict(choice.get("message") or {})
    if parts or message.get("content") is not None:
        message["content"] = "".join(parts)
    if pipeline.message_media is not None and (message.get("audio") or message.get("images")):
        message = await pipeline.message_media(ex, message)   # raises 502 for media it cannot label
    body = {**completion, "choices": [{**choice, "message": message}, *completion["choices"][1:]]}
    await pipeline.record(ex)
    body["compliance"] = ex.compliance()
    return body


class SSEResponse:
    """Streams SSE bytes and, unlike a plain streaming response, notices a client hanging up at once
    (not at the next write), cancelling the upstream call right away."""

    def __init__(self, body: AsyncIterator[bytes], headers: dict[str, str]) -> None:
        self._body = body
        self._headers = [(b"content-type", b"text/event-stream; charset=utf-8"),
                         (b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no")]
        self._headers += [(k.lower().encode(), v.encode()) for k, v in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The body runs in this task; a listener task waits for the client to hang up and then cancels it,
        # as Starlette's StreamingResponse does with a task group, so a client that leaves stops the
        # upstream call at once (not at the next write, which may be long in coming). Plain asyncio: an
        # anyio task group per stream cost ~4% of the proxy's CPU in streaming profiles (bench/RESULTS.md).
        task = asyncio.current_task()
        assert task is not None
        gone = False

        def hung_up(listener: asyncio.Future[None]) -> None:
            nonlocal gone
            if not listener.cancelled() and listener.exception() is None:
                gone = True
                task.cancel()

        listener = asyncio.ensure_future(_until_disconnect(receive))
        listener.add_done_callback(hung_up)
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self._headers})
            await self._pump(send)
        except OSError:
            pass   # the connection broke while writing: the client is gone
        except asyncio.CancelledError:
            if not gone:
                raise   # cancelled from outside (shutdown): not ours to swallow
            task.uncancel()
        finally:
            listener.remove_done_callback(hung_up)
            listener.cancel()

    async def _pump(self, send: Send) -> None:
        ended = False
        try:
            async for data in self._body:
                if ended:
                    continue
                # the last event ([DONE]) goes out with the end of the body: one write instead of two
                ended = data.endswith(DONE)
                await send({"type": "http.response.body", "body": data, "more_body": not ended})
            if not ended:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await self._body.aclose()  # type: ignore[attr-defined]


async def _until_disconnect(receive: Receive) -> None:
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            return
