"""Many long streams held open at once, as companion apps hold them: does any stall, is any lost?

Opens ``streams`` connections, one streamed chat request on each, their starts spread evenly over
``ramp`` seconds (real users do not start in lock-step), against an upstream that sends a content chunk
every ``interval`` seconds (``bench.stub_upstream --chunk-delay``). It records when each SSE event with
content arrives and reports, over every stream:

- completed streams (``data: [DONE]`` received, HTTP 200) and failed ones, by reason;
- the gaps between successive content events of a stream from its second on (p50/p99/max): run once
  straight at the stub and once through the proxy, the difference at p99 is the delay the proxy adds
  between chunks. The first gap is left out: through the proxy the first event is its opening (notices,
  label) and the first sentence follows one interval later by design (time to first token, reported
  on its own);
- stalled streams: a gap longer than ``stall`` seconds (default 2 x interval), or not complete in time.

    python -m bench.longstreams --port 9100 --api-key sk-stub --model stub-model --streams 1000 \
        [--interval 0.4] [--ramp 0.4] [--json]
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

from bench.loadgen import Stats, Target, build_requests


def raise_nofile(needed: int) -> int:
    """Raise the soft open-file limit towards ``needed`` (at most the hard limit); returns the new one."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if soft != resource.RLIM_INFINITY and soft < want:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            soft = want
    return int(soft)


class _Stream(asyncio.Protocol):
    """One connection carrying one streamed request; records the arrival of each content event."""

    def __init__(self, done: asyncio.Future[None]) -> None:
        self.done = done
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.times: list[float] = []   # arrival of each SSE event carrying non-empty delta.content
        self.start = 0.0
        self.finished = False
        self.error: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self._end(None if self.finished else f"connection closed{': ' + type(exc).__name__ if exc else ''}")

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as e:
            self._end(f"malformed response: {e}")

    def on_body(self, body: bytes) -> None:
        now = time.perf_counter()
        self.buf += body
        while True:
            cut = self.buf.find(b"\n\n")
            if cut < 0:
                return
            event, self.buf = self.buf[:cut], self.buf[cut + 2:]
            if not event.startswith(b"data: ") or event == b"data: [DONE]":
                if event == b"data: [DONE]":
                    self.finished = True
                continue
            try:
                obj = orjson.loads(event[6:])
            except orjson.JSONDecodeError:
                continue
            if "error" in obj:
                self.error = f"error event: {str(obj['error'])[:100]}"
                continue
            choices = obj.get("choices") or ()
            if choices and (choices[0].get("delta") or {}).get("content"):
                self.times.append(now)

    def on_message_complete(self) -> None:
        status = self.parser.get_status_code()
        if status != 200:
            self._end(f"HTTP {status}")
        elif self.error:
            self._end(self.error)
        elif not self.finished:
            self._end("stream ended without data: [DONE]")
        else:
            self._end(None)

    def _end(self, error: str | None) -> None:
        if self.done.done():
            return
        if error:
            self.error = error
            self.finished = False
        self.done.set_result(None)
        if self.transport is not None:
            self.transport.close()


@dataclass
class LongStreamsResult:
    streams: int
    completed: int
    interval_s: float
    ramp_s: float
    stall_s: float
    wall_s: float                    # first start to last end
    gaps_ms: Stats | None            # between successive content events of a stream, from the second on
    ttft_ms: Stats | None            # request sent to first content event
    chunks_per_stream: Stats | None  # content events per completed stream (in "ms" units: counts)
    stalled: int                     # streams not complete, or with a gap over stall_s
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def lost(self) -> int:
        return self.streams - self.completed

    @property
    def smooth(self) -> int:
        """Streams complete without a stall."""
        return self.streams - self.stalled

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LongStreamsResult:
        d = dict(d)
        for key in ("gaps_ms", "ttft_ms", "chunks_per_stream"):
            d[key] = Stats(**d[key]) if d.get(key) else None
        return cls(**d)

    def summary(self) -> str:
        parts = [f"{self.completed}/{self.streams} streams complete", f"{self.stalled} stalled"]
        if self.gaps_ms:
            parts.append(f"gap p50 {self.gaps_ms.p50:.1f} ms p99 {self.gaps_ms.p99:.1f} ms "
                         f"max {self.gaps_ms.max:.1f} ms")
        if self.ttft_ms:
            parts.append(f"TTFT p50 {self.ttft_ms.p50:.1f} ms")
        if self.errors:
            parts.append(f"ERRORS {self.errors}")
        return ", ".join(parts)


async def run_long_streams(target: Target, streams: int, interval: float, ramp: float | None = None,
                           stall: float | None = None, give_up_after: float = 120.0) -> LongStreamsResult:
    """Open ``streams`` streams (starts spread over ``ramp`` s, default one interval) and wait for all."""
    ramp = interval if ramp is None else ramp
    stall = 2 * interval if stall is None else stall
    raise_nofile(streams + 256)
    loop = asyncio.get_running_loop()
    requests = build_requests(target)
    protos: list[_Stream] = []
    errors: dict[str, int] = {}
    t0 = time.perf_counter()

    async def one(i: int) -> None:
        await asyncio.sleep(max(0.0, t0 + ramp * i / max(1, streams) - time.perf_counter()))
        done: asyncio.Future[None] = loop.create_future()
        try:
            _, proto = await loop.create_connection(lambda: _Stream(done), target.host, target.port)
        except OSError as e:
            errors[f"connect failed: {e.strerror or e}"] = errors.get(f"connect failed: {e.strerror or e}", 0) + 1
            return
        protos.append(proto)
        proto.start = time.perf_counter()
        assert proto.transport is not None
        proto.transport.write(requests[i % len(requests)])
        try:
            await asyncio.wait_for(done, give_up_after)
        except TimeoutError:
            proto._end(f"not complete after {give_up_after:g}s")

    await asyncio.gather(*(one(i) for i in range(streams)))
    wall = time.perf_counter() - t0
    gaps: list[float] = []
    ttft: list[float] = []
    counts: list[float] = []
    stalled = 0
    completed = 0
    for p in protos:
        if p.error or not p.finished:
            why = p.error or "incomplete"
            errors[why] = errors.get(why, 0) + 1
            continue
        completed += 1
        if p.times:
            ttft.append(p.times[0] - p.start)
        # from the second content event on: the proxy's first event is its opening (notices, label), sent
        # with the provider's first chunk, and its first sentence goes out with the delta after it, so the
        # first gap is two intervals by design (it is in the time to first token instead)
        mine = [b - a for a, b in zip(p.times[1:], p.times[2:], strict=False)]
        gaps.extend(mine)
        counts.append(len(p.times) / 1000.0)   # Stats multiplies by 1000 (it is made for seconds)
        if any(g > stall for g in mine):
            stalled += 1
    stalled += streams - completed   # lost streams (failed, incomplete, never connected) stalled too
    return LongStreamsResult(streams=streams, completed=completed, interval_s=interval, ramp_s=ramp,
                             stall_s=stall, wall_s=wall, gaps_ms=Stats.of(gaps), ttft_ms=Stats.of(ttft),
                             chunks_per_stream=Stats.of(counts), stalled=stalled, errors=errors)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.longstreams", description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--api-key", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--streams", type=int, default=1000)
    ap.add_argument("--interval", type=float, default=0.4, help="the upstream's seconds between chunks")
    ap.add_argument("--ramp", type=float, default=None, help="seconds over which the starts are spread")
    ap.add_argument("--stall", type=float, default=None, help="a gap longer than this is a stall (2 x interval)")
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    target = Target(args.host, args.port, args.api_key, args.model, stream=True, users=64)
    result = uvloop.run(run_long_streams(target, args.streams, args.interval, args.ramp, args.stall, args.timeout))
    print(result.to_json() if args.json else result.summary(), flush=True)
    if result.lost or result.stalled:
        print(f"longstreams: {result.lost} lost, {result.stalled} stalled: {result.errors}", file=sys.stderr)


if __name__ == "__main__":
    main()
