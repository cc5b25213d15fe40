"""An efficient HTTP/1.1 load generator for OpenAI-compatible chat endpoints.

Cheap on purpose (the bench machine has two cores and the proxy gets one): raw ``asyncio.Protocol``
on uvloop, ``httptools`` for response parsing (Content-Length and chunked bodies), keep-alive
connections, one request in flight per connection, request bytes built once (``VARIANTS`` different
messages, sent in turn).

Measures per request: latency to the end of the body and, for streams, time to the first content
chunk (TTFT: the first SSE event whose ``choices[0].delta.content`` is not empty). Any non-2xx status,
broken connection or stream without ``data: [DONE]`` is an error; a run with errors is a failed run.

Two modes: a fixed number of requests (after ``warmup`` requests) or a timed window (after
``warmup_seconds``); throughput counts requests completed inside the measured window.

    python -m bench.loadgen --port 9100 --api-key sk-stub --model stub-model \
        [--stream] [--concurrency 16] [--requests 2000 | --duration 10] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any, cast

import httptools
import orjson
import uvloop

from bench.variety import VARIANTS, name_of

_SYSTEM = ("You are Mia, a warm and attentive companion. Keep replies short, kind and curious; "
           "remember what the user told you earlier in the conversation.")
# every request names someone else (bench/variety.py): real users do not send the same message twice
USER_MESSAGE = "I'm back! The presentation for {name} went okay I think, but I'm exhausted. What should I do tonight?"


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    api_key: str
    model: str
    stream: bool = False
    path: str = "/v1/chat/completions"
    users: int = 16  # requests rotate over this many end users, as a real app's traffic would
    headers: tuple[tuple[str, str], ...] = ()


def build_requests(t: Target) -> list[bytes]:
    """Ready-to-send HTTP requests, sent in turn: ``VARIANTS`` different user messages, rotating over
    ``t.users`` end users."""
    out = []
    for i in range(VARIANTS):
        body: dict[str, Any] = {
            "model": t.model,
            "messages": [{"role": "system", "content": _SYSTEM},
                         {"role": "user", "content": USER_MESSAGE.format(name=name_of(i))}],
            "temperature": 0.7,
            "user": f"bench-user-{i % max(1, t.users):04d}",
        }
        if t.stream:
            body["stream"] = True
        raw = orjson.dumps(body)
        extra = "".join(f"{k}: {v}\r\n" for k, v in t.headers)
        accept = "text/event-stream" if t.stream else "application/json"
        head = (f"POST {t.path} HTTP/1.1\r\nHost: {t.host}:{t.port}\r\nAuthorization: Bearer {t.api_key}\r\n"
                f"Content-Type: application/json\r\nAccept: {accept}\r\nContent-Length: {len(raw)}\r\n"
                f"{extra}\r\n")
        out.append(head.encode() + raw)
    return out


class RequestFailed(Exception):
    """A request that did not produce a complete 2xx response; ``str`` is the error class counted."""


@dataclass
class _Outcome:
    start: float
    end: float
    first: float | None  # first content chunk (streams only)
    body: bytes


class _Connection(asyncio.Protocol):
    """One keep-alive connection with at most one request in flight."""

    def __init__(self, stream: bool) -> None:
        self.stream = stream
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[_Outcome] | None = None
        self.pieces: list[bytes] = []
        self.sse = b""  # unparsed SSE text, only kept until the first content chunk is seen
        self.first: float | None = None
        self.start = 0.0
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass it
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._fail(f"connection closed{': ' + type(exc).__name__ if exc else ''}")

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as e:
            self._fail(f"malformed response: {e}")
            if self.transport is not None:
                self.transport.close()

    def _fail(self, why: str) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(RequestFailed(why))

    def request(self, data: bytes) -> asyncio.Future[_Outcome]:
        if self.lost or self.transport is None:
            raise RequestFailed("connection closed")
        self.waiter = asyncio.get_running_loop().create_future()
        self.pieces = []
        self.sse = b""
        self.first = None
        self.start = time.perf_counter()
        self.transport.write(data)
        return self.waiter

    # httptools callbacks
    def on_body(self, body: bytes) -> None:
        self.pieces.append(body)
        if self.stream and self.first is None:
            self._scan(body)

    def _scan(self, body: bytes) -> None:
        self.sse += body.replace(b"\r", b"")
        while True:
            cut = self.sse.find(b"\n\n")
            if cut < 0:
                return
            event, self.sse = self.sse[:cut], self.sse[cut + 2:]
            for line in event.split(b"\n"):
                if not line.startswith(b"data:"):
                    continue
                payload = line[5:].strip()
                if payload == b"[DONE]":
                    continue
                try:
                    choices = orjson.loads(payload).get("choices") or ()
                except (orjson.JSONDecodeError, AttributeError):
                    continue
                if choices and (choices[0].get("delta") or {}).get("content"):
                    self.first = time.perf_counter()
                    self.sse = b""
                    return

    def on_message_complete(self) -> None:
        end = time.perf_counter()
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        status = self.parser.get_status_code()
        body = b"".join(self.pieces)
        if not 200 <= status < 300:
            waiter.set_exception(RequestFailed(f"HTTP {status}{_error_code(body)}"))
        elif self.stream and b"data: [DONE]" not in body[-64:]:
            waiter.set_exception(RequestFailed("stream ended without data: [DONE]"))
        elif self.stream and self.first is None:
            waiter.set_exception(RequestFailed("stream carried no content chunk"))
        else:
            waiter.set_result(_Outcome(self.start, end, self.first, body))
        if not self.parser.should_keep_alive() and self.transport is not None:
            self.transport.close()


@dataclass
class Stats:
    p50: float
    p90: float
    p99: float
    max: float
    mean: float

    @classmethod
    def of(cls, seconds: list[float]) -> Stats | None:
        if not seconds:
            return None
        v = sorted(x * 1000.0 for x in seconds)
        return cls(percentile(v, 50), percentile(v, 90), percentile(v, 99), v[-1], sum(v) / len(v))


def percentile(sorted_values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        raise ValueError("no values")
    pos = (len(sorted_values) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


@dataclass
class LoadResult:
    stream: bool
    concurrency: int
    requests: int  # measured requests completed successfully
    elapsed: float  # seconds of the measured window
    throughput: float  # requests/s in the measured window
    latency_ms: Stats | None  # to the end of the response body
    ttft_ms: Stats | None  # streams: to the first content chunk
    errors: dict[str, int] = field(default_factory=dict)
    sample_body: str = ""  # the first measured response body (truncated), for sanity checks

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LoadResult:
        d = dict(d)
        for key in ("latency_ms", "ttft_ms"):
            d[key] = Stats(**d[key]) if d.get(key) else None
        return cls(**d)

    def summary(self) -> str:
        lat = self.latency_ms
        parts = [f"{'stream' if self.stream else 'non-stream'} c={self.concurrency}: {self.requests} ok",
                 f"{self.throughput:,.0f} req/s"]
        if lat:
            parts.append(f"latency p50 {lat.p50:.3f} ms p99 {lat.p99:.3f} ms")
        if self.ttft_ms:
            parts.append(f"TTFT p50 {self.ttft_ms.p50:.3f} ms p99 {self.ttft_ms.p99:.3f} ms")
        if self.errors:
            parts.append(f"ERRORS {self.errors}")
        return ", ".join(parts)


def _error_code(body: bytes) -> str:
    """" <code>" of an OpenAI-shaped error body (``error.code``), so failures are counted by their cause."""
    try:
        code = orjson.loads(body)["error"]["code"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return ""
    return f" {code}" if isinstance(code, str) and code else ""


class _Run:
    def __init__(self, target: Target, max_errors: int) -> None:
        self.target = target
        self.requests = build_requests(target)
        self.max_errors = max_errors
        self.errors: dict[str, int] = {}
        self.outcomes: list[_Outcome] = []
        self.next_user = 0

    def _data(self) -> bytes:
        self.next_user = (self.next_user + 1) % len(self.requests)
        return self.requests[self.next_user]

    async def connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        _, proto = await loop.create_connection(lambda: _Connection(self.target.stream),
                                                self.target.host, self.target.port)
        return proto

    def _error(self, why: str) -> None:
        self.errors[why] = self.errors.get(why, 0) + 1

    @property
    def aborted(self) -> bool:
        return sum(self.errors.values()) >= self.max_errors

    async def worker(self, conn: _Connection, more: Any, record: bool) -> None:
        """Issue requests on ``conn`` while ``more()`` is true; reconnect after a broken connection."""
        while more() and not self.aborted:
            try:
                if conn.lost:
                    conn = await self.connect()
                outcome = await conn.request(self._data())
            except RequestFailed as e:
                self._error(str(e))
                continue
            except OSError as e:
                self._error(f"connect failed: {e.strerror or e}")
                await asyncio.sleep(0.01)
                continue
            if record:
                self.outcomes.append(outcome)


async def run_load(target: Target, *, concurrency: int = 1, requests: int | None = None,
                   duration: float | None = None, warmup: int = 0, warmup_seconds: float = 0.0,
                   max_errors: int = 50) -> LoadResult:
    """Run one measurement on the current event loop; exactly one of ``requests`` or ``duration``."""
    if (requests is None) == (duration is None):
        raise ValueError("give exactly one of requests or duration")
    run = _Run(target, max_errors)
    conns = [await run.connect() for _ in range(concurrency)]

    if warmup > 0 or warmup_seconds > 0:
        left = [warmup]
        until = time.perf_counter() + warmup_seconds

        def warming() -> bool:
            left[0] -= 1
            return left[0] >= 0 or time.perf_counter() < until

        await asyncio.gather(*(run.worker(c, warming, record=False) for c in conns))
        conns = [c if not c.lost else await run.connect() for c in conns]

    t0 = time.perf_counter()
    if requests is not None:
        left = [requests]

        def more() -> bool:
            left[0] -= 1
            return left[0] >= 0

        await asyncio.gather(*(run.worker(c, more, record=True) for c in conns))
        t1 = time.perf_counter()
        done = run.outcomes
    else:
        assert duration is not None
        t1 = t0 + duration
        await asyncio.gather(*(run.worker(c, lambda: time.perf_counter() < t1, record=True) for c in conns))
        # a request counts when it completed inside the window; the ones finishing after it are dropped
        done = [o for o in run.outcomes if o.end <= t1]
    for c in conns:
        if c.transport is not None:
            c.transport.close()
    elapsed = t1 - t0
    return LoadResult(
        stream=target.stream, concurrency=concurrency, requests=len(done), elapsed=elapsed,
        throughput=len(done) / elapsed if elapsed > 0 else 0.0,
        latency_ms=Stats.of([o.end - o.start for o in done]),
        ttft_ms=Stats.of([o.first - o.start for o in done if o.first is not None]) if target.stream else None,
        errors=run.errors,
        sample_body=done[0].body[:4096].decode("utf-8", "replace") if done else "",
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", default="/v1/chat/completions")
    ap.add_argument("--api-key", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--stream", action="store_true")
    ap.add_argument("--concurrency", "-c", type=int, default=1)
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--requests", "-n", type=int)
    mode.add_argument("--duration", "-d", type=float, help="seconds of the measured window")
    ap.add_argument("--warmup", type=int, default=0, help="requests before measuring")
    ap.add_argument("--warmup-seconds", type=float, default=0.0)
    ap.add_argument("--users", type=int, default=16)
    ap.add_argument("--header", action="append", default=[], metavar="NAME:VALUE")
    ap.add_argument("--json", action="store_true", help="print the result as one JSON object")
    args = ap.parse_args(argv)
    headers = tuple(tuple(h.split(":", 1)) for h in args.header)
    target = Target(args.host, args.port, args.api_key, args.model, args.stream, args.path, args.users,
                    cast(tuple[tuple[str, str], ...], tuple((k.strip(), v.strip()) for k, v in headers)))
    result = uvloop.run(run_load(target, concurrency=args.concurrency, requests=args.requests,
                                 duration=args.duration, warmup=args.warmup,
                                 warmup_seconds=args.warmup_seconds))
    print(result.to_json() if args.json else result.summary(), flush=True)
    if result.errors:
        print(f"loadgen: {result.error_count} failed request(s): {result.errors}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
