"""A very fast OpenAI-compatible upstream for benchmarks.

It must cost next to nothing so that what the bench measures is the proxy: raw ``asyncio.Protocol``
on uvloop, ``httptools`` for parsing, and every response body precomputed. Per request it only
fills in a fresh ``id`` (and ``created`` once a second) by joining precomputed byte slices.

Wire format follows OpenAI's: ``chat.completion`` bodies, and for ``"stream": true`` an SSE stream
(``text/event-stream``, chunked transfer encoding) of ``chat.completion.chunk`` objects: a first chunk
with the role, N content chunks, a chunk with ``finish_reason``, an optional usage chunk
(``stream_options.include_usage``), then ``data: [DONE]``.

    python -m bench.stub_upstream --port 9100 [--chunks 12] [--chunk-delay 0] [--api-key sk-stub]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import random
import re
import signal
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

import httptools
import uvloop

from bench.variety import name_of

# The reply a companion might give, in pieces of a few words: the streamed chunks are these pieces,
# the non-streaming content is their concatenation, so both modes carry the same text. Every sentence
# names someone (``@NAME``, a different name in each reply: bench/variety.py), so no reply sentence is
# one the proxy has read before, as in real traffic.
_NAME_SENTINEL = b"@NAME"
_PIECES = (
    "Hey @NAME, it's good", " to hear from", " you again!", " I remember you", " mentioned your",
    " trip to @NAME.", " How did the", " @NAME presentation go?", " I hope you", " got some rest",
    " afterwards, @NAME", ", you sounded tired.", " Tell me everything", " when you're ready, @NAME.",
)

# The same kind of reply where every piece is a whole sentence (``--sentences``): the proxy's guards release
# text sentence by sentence, so with these pieces every chunk goes out as it comes, and the gaps between the
# chunks a client receives measure the proxy, not where the model happened to end its sentences.
_SENTENCES = (
    "Hey @NAME, it's good to hear from you again.", " I remember you mentioned your trip to @NAME.",
    " How did it go, @NAME?", " I hope you got some rest, @NAME.", " You sounded tired yesterday, @NAME.",
    " Tell me everything, @NAME.", " What was the best part of @NAME?", " Did you try the food in @NAME?",
    " @NAME sounds lovely.", " I would like to see @NAME too.", " Take your time, @NAME.",
    " I'm listening, @NAME.", " What happens next with @NAME?", " Sleep well tonight, @NAME.",
)

_ID_PREFIX = b"chatcmpl-"
_ID_WIDTH = 24  # hex digits after the prefix; fixed width keeps Content-Length and chunk sizes precomputable
_ID_SENTINEL = _ID_PREFIX + b"#" * _ID_WIDTH
_CREATED_SENTINEL = b"#CREATED##"  # as wide as a 10-digit Unix time, replaced once a second

_STREAM_RE = re.compile(rb'"stream"\s*:\s*true')
_USAGE_RE = re.compile(rb'"include_usage"\s*:\s*true')
_MODEL_RE = re.compile(rb'"model"\s*:\s*"([^"\\]{1,200})"')
_MAX_TEMPLATES = 64  # per distinct (model, stream, usage): bounded so odd clients cannot grow memory


@dataclass(frozen=True)
class StubOptions:
    chunks: int = 12
    chunk_delay: float = 0.0  # seconds before each content chunk; 0 sends the whole stream in one write
    api_key: str | None = None  # when set, requests must carry exactly this bearer key
    model: str = "stub-model"  # listed by GET /v1/models and used when a request names none
    sentences: bool = False  # every chunk a whole sentence (see _SENTENCES)


def content_pieces(chunks: int, sentences: bool = False, name: str | None = None) -> list[str]:
    """The reply's pieces; ``name``: the name the stub puts in them (the ``@NAME`` sentinel left when None)."""
    if name is not None:
        assert len(name.encode()) == len(_NAME_SENTINEL), "names keep the sentinel's width"
        return [p.replace(_NAME_SENTINEL.decode(), name) for p in content_pieces(chunks, sentences)]
    pieces = _SENTENCES if sentences else _PIECES
    out = [pieces[i % len(pieces)] for i in range(chunks)]
    # past the end the pieces start again: the first one then follows a sentence, so it needs its space
    # ("tonight. Hey", not "tonight.Hey", which no sentence splitter ends after "tonight.")
    return [p if i < len(pieces) or p.startswith(" ") else " " + p for i, p in enumerate(out)]


def _dumps(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def _chunk(model: str, delta: dict[str, object], finish: str | None, usage: bool) -> dict[str, object]:
    obj: dict[str, object] = {
        "id": _ID_SENTINEL.decode(), "object": "chat.completion.chunk", "created": 0, "model": model,
        "system_fingerprint": "fp_candor_stub",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    if usage:
        obj["usage"] = None
    return obj


def _usage(pieces: list[str]) -> dict[str, int]:
    completion = sum(len(p.split()) for p in pieces)
    return {"prompt_tokens": 42, "completion_tokens": completion, "total_tokens": 42 + completion}


def _json_bytes(obj: dict[str, object]) -> bytes:
    # "created" is set to 0 when building and swapped for a fixed-width sentinel here
    return _dumps(obj).replace(b'"created":0', b'"created":' + _CREATED_SENTINEL, 1)


def completion_body(model: str, pieces: list[str]) -> bytes:
    return _json_bytes({
        "id": _ID_SENTINEL.decode(), "object": "chat.completion", "created": 0, "model": model,
        "system_fingerprint": "fp_candor_stub",
        "choices": [{"index": 0,
                     "message": {"role": "assistant", "content": "".join(pieces), "refusal": None},
                     "logprobs": None, "finish_reason": "stop"}],
        "usage": _usage(pieces),
    })


def stream_events(model: str, pieces: list[str], include_usage: bool) -> list[bytes]:
    """The SSE events, each already framed as one HTTP chunk."""
    objs = [_chunk(model, {"role": "assistant", "content": "", "refusal": None}, None, include_usage)]
    objs += [_chunk(model, {"content": p}, None, include_usage) for p in pieces]
    objs.append(_chunk(model, {}, "stop", include_usage))
    events = [b"data: " + _json_bytes(o) + b"\n\n" for o in objs]
    if include_usage:
        last = {"id": _ID_SENTINEL.decode(), "object": "chat.completion.chunk", "created": 0, "model": model,
                "system_fingerprint": "fp_candor_stub", "choices": [], "usage": _usage(pieces)}
        events.append(b"data: " + _json_bytes(last) + b"\n\n")
    events.append(b"data: [DONE]\n\n")
    return [b"%x\r\n%s\r\n" % (len(e), e) for e in events]


def _head(status: str, content_type: bytes, length: int | None) -> bytes:
    framing = b"Transfer-Encoding: chunked\r\n" if length is None else b"Content-Length: %d\r\n" % length
    return (b"HTTP/1.1 " + status.encode() + b"\r\nContent-Type: " + content_type + b"\r\n" + framing
            + b"x-candor-stub: 1\r\n\r\n")


def simple_response(status: str, obj: object) -> bytes:
    body = _dumps(obj)
    return _head(status, b"application/json", len(body)) + body


def error_response(status: str, message: str, code: str) -> bytes:
    err_type = "invalid_request_error" if status.startswith("4") else "server_error"
    error = {"message": message, "type": err_type, "param": None, "code": code}
    return simple_response(status, {"error": error})


class _Template:
    """A full response with sentinels for id and created, split so a request only joins slices."""

    def __init__(self, parts: list[bytes]) -> None:
        # parts: for a non-stream reply one element; for a delayed stream one element per SSE event
        self._raw = parts
        self._second = -1
        self._split: list[list[bytes]] = []

    def render(self, rid: bytes, now: int, name: bytes) -> list[bytes]:
        if now != self._second:
            created = b"%d" % now
            self._split = [p.replace(_CREATED_SENTINEL, created).split(_ID_SENTINEL) for p in self._raw]
            self._second = now
        return [rid.join(s).replace(_NAME_SENTINEL, name) for s in self._split]


class StubState:
    def __init__(self, options: StubOptions) -> None:
        self.options = options
        self.pieces = content_pieces(options.chunks, options.sentences)
        self.templates: dict[tuple[bytes, bool, bool], _Template] = {}
        self.ids: Iterator[int] = itertools.count(random.getrandbits(4 * _ID_WIDTH - 8))
        self.requests = 0
        self.streams = 0
        self.auth = b"Bearer " + options.api_key.encode() if options.api_key else None

    def next_id(self) -> bytes:
        return _ID_PREFIX + b"%0*x" % (_ID_WIDTH, next(self.ids) & ((1 << (4 * _ID_WIDTH)) - 1))

    def template(self, model: bytes, stream: bool, usage: bool) -> _Template:
        key = (model, stream, usage)
        tpl = self.templates.get(key)
        if tpl is None:
            name = model.decode("utf-8", "replace")
            if stream:
                events = stream_events(name, self.pieces, usage)
                head = _head("200 OK", b"text/event-stream; charset=utf-8", None)
                if self.options.chunk_delay > 0:
                    # role chunk goes out with the headers; each content chunk after a delay; the last
                    # one with the finish chunk and [DONE], as a model ends its reply with its last token
                    n = len(self.pieces)
                    parts = [head + events[0], *events[1:n], b"".join(events[n:]) + b"0\r\n\r\n"]
                else:
                    parts = [head + b"".join(events) + b"0\r\n\r\n"]
            else:
                body = completion_body(name, self.pieces)
                parts = [_head("200 OK", b"application/json", len(body)) + body]
            tpl = _Template(parts)
            if len(self.templates) < _MAX_TEMPLATES:
                self.templates[key] = tpl
        return tpl

    def models_response(self) -> bytes:
        model = {"id": self.options.model, "object": "model", "created": int(time.time()),
                 "owned_by": "candor-bench"}
        return simple_response("200 OK", {"object": "list", "data": [model]})

    def stats_response(self) -> bytes:
        return simple_response("200 OK", {"requests": self.requests, "streams": self.streams})


class StubProtocol(asyncio.Protocol):
    """One client connection: parses requests, answers them in order (HTTP/1.1 keep-alive, pipelining)."""

    def __init__(self, state: StubState) -> None:
        self.state = state
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.auth: bytes | None = None
        self.body: list[bytes] = []
        self.queue: deque[tuple[list[bytes], bool]] = deque()  # delayed streams waiting their turn
        self.sending = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._send([error_response("400 Bad Request", "malformed HTTP request", "bad_request")], False)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.url = b""
        self.auth = None
        self.body = []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(name) == 13 and name.lower() == b"authorization":
            self.auth = value

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        keep = self.parser.should_keep_alive()
        method = self.parser.get_method()
        path = self.url.split(b"?", 1)[0]
        st = self.state
        if path == b"/v1/chat/completions":
            if method != b"POST":
                self._send([error_response("405 Method Not Allowed", "use POST", "method_not_allowed")], keep)
            elif self.auth is None or (st.auth is not None and self.auth != st.auth):
                err = error_response("401 Unauthorized", "Incorrect API key provided", "invalid_api_key")
                self._send([err], keep)
            else:
                self._completion(b"".join(self.body), keep)
        elif path == b"/v1/models" and method == b"GET":
            self._send([st.models_response()], keep)
        elif path == b"/_stub/stats" and method == b"GET":
            self._send([st.stats_response()], keep)
        else:
            self._send([error_response("404 Not Found", f"no route {path.decode(errors='replace')}",
                                       "not_found")], keep)

    def _completion(self, body: bytes, keep: bool) -> None:
        st = self.state
        if not body.lstrip().startswith(b"{") or b'"messages"' not in body:
            self._send([error_response("400 Bad Request", "body must be a JSON object with messages",
                                       "invalid_request")], keep)
            return
        stream = _STREAM_RE.search(body) is not None
        usage = stream and _USAGE_RE.search(body) is not None
        m = _MODEL_RE.search(body)
        model = m.group(1) if m else st.options.model.encode()
        st.requests += 1
        st.streams += stream
        parts = st.template(model, stream, usage).render(st.next_id(), int(time.time()),
                                                         name_of(st.requests).encode())
        self._send(parts, keep)

    def _send(self, parts: list[bytes], keep: bool) -> None:
        if len(parts) == 1 and not self.sending:
            if self.transport is not None:
                self.transport.write(parts[0])
                if not keep:
                    self.transport.close()
            return
        self.queue.append((parts, keep))
        if not self.sending:
            self.sending = True
            asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        delay = self.state.options.chunk_delay
        try:
            while self.queue:
                parts, keep = self.queue.popleft()
                for i, part in enumerate(parts):
                    if i and delay > 0:
                        await asyncio.sleep(delay)
                    if self.transport is None:
                        return
                    self.transport.write(part)
                if not keep and self.transport is not None:
                    self.transport.close()
                    return
        finally:
            self.sending = False


async def start_stub(options: StubOptions, host: str = "127.0.0.1", port: int = 0) -> asyncio.Server:
    """Start the stub on the running loop; ``port=0`` picks a free port (see ``server.sockets``)."""
    state = StubState(options)
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: StubProtocol(state), host, port, reuse_address=True, backlog=1024)


async def _serve(args: argparse.Namespace) -> None:
    options = StubOptions(chunks=args.chunks, chunk_delay=args.chunk_delay, api_key=args.api_key,
                          sentences=args.sentences)
    server = await start_stub(options, args.host, args.port)
    port = server.sockets[0].getsockname()[1]
    print(f"stub upstream listening on http://{args.host}:{port}/v1", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(server.wait_closed(), 1.0)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.stub_upstream", description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=9100, help="0 picks a free port (printed at start)")
    ap.add_argument("--chunks", type=int, default=12, help="content chunks per streamed reply")
    ap.add_argument("--chunk-delay", type=float, default=0.0, help="seconds before each content chunk")
    ap.add_argument("--api-key", default=None, help="require exactly this bearer key (default: any)")
    ap.add_argument("--sentences", action="store_true", help="every content chunk a whole sentence")
    args = ap.parse_args(argv)
    if args.chunks < 1:
        ap.error("--chunks must be at least 1")
    from bench.longstreams import raise_nofile

    raise_nofile(65536)   # one socket per stream held open: the long-streams scenario holds thousands
    uvloop.run(_serve(args))


if __name__ == "__main__":
    main()
