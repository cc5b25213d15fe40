"""A provider stub for end-to-end tests: a real HTTP server speaking OpenAI's and Anthropic's wire
formats, whose behaviour each test scripts (reply text, failure before or during the stream, delays)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

_RESERVED: list[socket.socket] = []


def free_port() -> int:
    """A loopback port that stays this process's until it exits, for a server to bind (or, unbound, for a
    connection to be refused on).

    Tests run in several processes at once (pytest-xdist), so a port that is merely free now could be handed
    to another worker's server, or to an outgoing connection, before ours binds it. Instead a socket with
    SO_REUSEADDR is bound to port 0 and held, never listening: the kernel then gives that port to no other
    ``bind(("127.0.0.1", 0))`` and to no outgoing connection, a connection to it is refused until our server
    listens, and our server (uvicorn, asyncio, ``http.server`` and ``TcpRelay`` all set SO_REUSEADDR) can
    still bind and listen on it, also again after a restart."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    _RESERVED.append(s)
    return int(s.getsockname()[1])


@dataclass
class Script:
    """What the stub does for one request."""

    text: str = "Hello from the stub."
    status: int = 200                 # an HTTP error status before any byte of the reply
    die_after: int | None = None      # streaming: close the connection after this many content chunks
    error_event_after: int | None = None  # streaming: send an error event after this many chunks
    chunk_delay: float = 0.0          # streaming: seconds between chunks
    first_delay: float = 0.0          # seconds before answering at all
    chunks: int | None = None         # streaming: split text into this many chunks (default: words)
    tool_calls: list[dict[str, Any]] | None = None   # reply with these tool calls and no text
    tool_call: tuple[str, str] | None = None   # reply with one tool call (name, JSON arguments) instead of text
    choices: list[dict[str, Any]] | None = None   # non-streaming: the completion's choices, as given
    deltas: list[list[dict[str, Any]]] | None = None   # streaming: each chunk's choices, as given (replaces text)


@dataclass
class StubProvider:
    scripts: deque[Script] = field(default_factory=deque)
    requests: list[dict[str, Any]] = field(default_factory=list)
    cancelled: list[float] = field(default_factory=list)   # when a stream was cut by the client side
    completed: list[float] = field(default_factory=list)

    def push(self, *scripts: Script) -> None:
        self.scripts.extend(scripts)

    def reset(self) -> None:
        self.scripts.clear()
        self.requests.clear()
        self.cancelled.clear()
        self.completed.clear()

    def _next(self) -> Script:
        return self.scripts.popleft() if self.scripts else Script()


def _pieces(script: Script) -> list[str]:
    words = script.text.split(" ")
    pieces = [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]
    if script.chunks:
        size = max(1, len(script.text) // script.chunks)
        pieces = [script.text[i:i + size] for i in range(0, len(script.text), size)]
    return pieces


def build_stub_app(stub: StubProvider) -> Starlette:
    async def openai_chat(request: Request) -> Response:
        body = await request.json()
        stub.requests.append({"api": "openai", "headers": dict(request.headers), "body": body})
        script = stub._next()
        if script.first_delay:
            await asyncio.sleep(script.first_delay)
        if script.status != 200:
            return JSONResponse({"error": {"message": f"stub failure {script.status}", "type": "server_error",
                                           "code": None, "param": None}}, status_code=script.status)
        base = {"id": "chatcmpl-stub", "created": int(time.time()), "model": body.get("model")}
        if script.tool_calls is not None:
            return _tool_calls(base, body, script.tool_calls)
        call = None
        if script.tool_call is not None:
            call = {"id": "call_stub", "type": "function",
                    "function": {"name": script.tool_call[0], "arguments": script.tool_call[1]}}
        if not body.get("stream") and call is not None:
            return JSONResponse({**base, "object": "chat.completion",
                                 "choices": [{"index": 0, "message": {"role": "assistant", "content": None,
                                                                      "tool_calls": [call]},
                                              "finish_reason": "tool_calls"}],
                                 "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}})
        if call is not None:
            chunk = {**base, "object": "chat.completion.chunk"}
            name, args = script.tool_call  # type: ignore[misc]
            first = {"index": 0, "id": "call_stub", "type": "function", "function": {"name": name, "arguments": ""}}
            events = [
                _sse({**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": None,
                                                                  "tool_calls": [first]}, "finish_reason": None}]}),
                _sse({**chunk, "choices": [{"index": 0, "delta": {"tool_calls": [
                    {"index": 0, "function": {"arguments": args}}]}, "finish_reason": None}]}),
                _sse({**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}),
                b"data: [DONE]\n\n"]
            return StreamingResponse(iter(events), media_type="text/event-stream")
        if not body.get("stream"):
            stub.completed.append(time.monotonic())
            return JSONResponse({**base, "object": "chat.completion", "system_fingerprint": "fp_stub",
                                 "choices": script.choices or [
                                     {"index": 0, "message": {"role": "assistant", "content": script.text},
                                      "finish_reason": "stop", "logprobs": None}],
                                 "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}})

        async def events() -> Any:
            chunk = {**base, "object": "chat.completion.chunk"}
            try:
                yield _sse({**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                                  "finish_reason": None}]})
                for choices in script.deltas or []:
                    yield _sse({**chunk, "choices": choices})
                for i, piece in enumerate(_pieces(script) if script.deltas is None else []):
                    if script.die_after is not None and i >= script.die_after:
                        raise ConnectionAbortedError("stub dies mid-stream")
                    if script.error_event_after is not None and i >= script.error_event_after:
                        yield _sse({"error": {"message": "stub overloaded mid-stream", "type": "server_error"}})
                        return
                    if script.chunk_delay:
                        await asyncio.sleep(script.chunk_delay)
                    yield _sse({**chunk, "choices": [{"index": 0, "delta": {"content": piece},
                                                      "finish_reason": None}]})
                yield _sse({**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                if (body.get("stream_options") or {}).get("include_usage"):
                    yield _sse({**chunk, "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 7,
                                                                  "total_tokens": 12}})
                yield b"data: [DONE]\n\n"
                stub.completed.append(time.monotonic())
            except (asyncio.CancelledError, GeneratorExit):
                stub.cancelled.append(time.monotonic())
                raise

        return StreamingResponse(events(), media_type="text/event-stream")

    async def anthropic_messages(request: Request) -> Response:
        body = await request.json()
        stub.requests.append({"api": "anthropic", "headers": dict(request.headers), "body": body})
        script = stub._next()
        if script.status != 200:
            return JSONResponse({"type": "error", "error": {"type": "api_error", "message": "stub failure"}},
                                status_code=script.status)
        model = body.get("model")
        if not body.get("stream"):
            return JSONResponse({
                "id": "msg_stub", "type": "message", "role": "assistant", "model": model,
                "content": [{"type": "text", "text": script.text}], "stop_reason": "end_turn",
                "stop_sequence": None, "usage": {"input_tokens": 5, "output_tokens": 7}})

        async def events() -> Any:
            def ev(name: str, data: dict[str, Any]) -> bytes:
                return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()

            yield ev("message_start", {"type": "message_start", "message": {
                "id": "msg_stub", "type": "message", "role": "assistant", "model": model, "content": [],
                "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 5, "output_tokens": 1}}})
            yield ev("content_block_start", {"type": "content_block_start", "index": 0,
                                             "content_block": {"type": "text", "text": ""}})
            for piece in _pieces(script):
                yield ev("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                 "delta": {"type": "text_delta", "text": piece}})
            yield ev("content_block_stop", {"type": "content_block_stop", "index": 0})
            yield ev("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn",
                                       "stop_sequence": None}, "usage": {"output_tokens": 7}})
            yield ev("message_stop", {"type": "message_stop"})

        return StreamingResponse(events(), media_type="text/event-stream")

    async def openai_embeddings(request: Request) -> Response:
        body = await request.json()
        stub.requests.append({"api": "embeddings", "headers": dict(request.headers), "body": body})
        script = stub._next()
        if script.status != 200:
            return JSONResponse({"error": {"message": f"stub failure {script.status}", "type": "server_error",
                                           "code": None, "param": None}}, status_code=script.status)
        given = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = [{"object": "embedding", "index": i, "embedding": [0.1 * (i + 1), 0.2, 0.3]}
                for i in range(len(given))]
        return JSONResponse({"object": "list", "data": data, "model": body.get("model"),
                             "usage": {"prompt_tokens": 4, "total_tokens": 4}})

    return Starlette(routes=[
        Route("/v1/chat/completions", openai_chat, methods=["POST"]),
        Route("/v1/embeddings", openai_embeddings, methods=["POST"]),
        Route("/v1/messages", anthropic_messages, methods=["POST"]),
    ])


def _tool_calls(base: dict[str, Any], body: dict[str, Any], calls: list[dict[str, Any]]) -> Response:
    """A reply that is only tool calls, as OpenAI sends it (content null; streamed as argument pieces)."""
    full = [{"id": f"call_{i}", "type": "function", **c} for i, c in enumerate(calls)]
    if not body.get("stream"):
        return JSONResponse({**base, "object": "chat.completion",
                             "choices": [{"index": 0, "message": {"role": "assistant", "content": None,
                                                                  "tool_calls": full},
                                          "finish_reason": "tool_calls", "logprobs": None}]})

    async def events() -> Any:
        chunk = {**base, "object": "chat.completion.chunk"}
        yield _sse({**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": None},
                                          "finish_reason": None}]})
        for i, call in enumerate(full):
            args = call["function"]["arguments"]
            head = {"index": i, "id": call["id"], "type": "function",
                    "function": {"name": call["function"]["name"], "arguments": ""}}
            yield _sse({**chunk, "choices": [{"index": 0, "delta": {"tool_calls": [head]}, "finish_reason": None}]})
            for j in range(0, len(args), 8):
                piece = {"index": i, "function": {"arguments": args[j:j + 8]}}
                yield _sse({**chunk, "choices": [{"index": 0, "delta": {"tool_calls": [piece]},
                                                  "finish_reason": None}]})
        yield _sse({**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
        yield b"data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")


def _sse(obj: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


class _PromptServer(uvicorn.Server):
    """uvicorn's server without its fixed pauses on the way out, which cost every stop ~0.2 s: ``main_loop``
    notices ``should_exit`` only at its next 0.1 s tick, and ``shutdown`` sleeps 0.1 s before it looks at the
    connections, then polls them every 0.1 s. ~150 servers start and stop in the suite (one per end-to-end test
    on an in-process proxy): ~25 s of its wall time went there. Here ``stop()`` wakes the loop at once and
    ``shutdown`` polls every 5 ms; the steps are uvicorn's own, in its order: stop accepting, ask each
    connection to close, wait for them and for the running tasks (as long as uvicorn would), then the app's
    lifespan shutdown unless forced."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._woken: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None

    def stop(self, *, force: bool = False) -> None:
        """From another thread: stop (``force``: without waiting for connections, tasks or the lifespan)."""
        self.force_exit = self.force_exit or force
        self.should_exit = True
        if self._woken is not None:
            loop, wake = self._woken
            with contextlib.suppress(RuntimeError):   # the loop has already closed: nothing to wake
                loop.call_soon_threadsafe(wake.set)

    async def main_loop(self) -> None:
        wake = asyncio.Event()
        self._woken = (asyncio.get_running_loop(), wake)
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), 0.1)   # uvicorn: asyncio.sleep(0.1)
            should_exit = await self.on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        try:
            await asyncio.wait_for(self._drained(), timeout=self.config.timeout_graceful_shutdown)
        except TimeoutError:
            for task in self.server_state.tasks:
                task.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")
        if not self.force_exit:
            await self.lifespan.shutdown()

    async def _drained(self) -> None:
        """uvicorn's ``_wait_tasks_to_complete``, polling every 5 ms instead of every 0.1 s."""
        for pending in (self.server_state.connections, self.server_state.tasks):
            while pending and not self.force_exit:   # noqa: ASYNC110 (uvicorn's sets have no event to wait on)
                await asyncio.sleep(0.005)
        for server in self.servers:
            await server.wait_closed()


class ServerThread:
    """Runs an ASGI app with uvicorn on a loopback port in a background thread."""

    def __init__(self, app: Any, port: int | None = None, lifespan: str = "off") -> None:
        self.port = port or free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan=lifespan)
        self.server = _PromptServer(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 60   # generous: another test process may be busy on the same cores
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("the server thread failed to start (see the log above)")
            if time.monotonic() > deadline:
                raise RuntimeError("stub server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()
        self.thread.join(timeout=0.5)
        if self.thread.is_alive():
            # a request still held open (a stub told to hang, a stream nobody reads) would keep uvicorn's
            # graceful shutdown waiting: close without waiting for it instead of sitting out the join
            self.server.stop(force=True)
            self.thread.join(timeout=5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
