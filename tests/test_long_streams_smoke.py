"""The long-streams scenario of ``python -m bench`` in small (issue 18): many streams held open at once
through a running ``candor serve`` with its default limits. Asserts only that nothing stalls or is lost,
not timings (a stall here is a gap of seconds, far above the chunk interval)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import uvloop

from bench.loadgen import Target
from bench.longstreams import run_long_streams
from bench.servers import start_proxy
from bench.settings import STUB_KEY, STUB_MODEL
from tests.bench_support import reserved_ports, stub_upstream  # noqa: F401  (reserved_ports: the fixture, autouse)

STREAMS, CHUNKS, INTERVAL = 120, 6, 0.15


@pytest.fixture(scope="module")
def long_stub() -> Iterator[int]:
    with stub_upstream("--chunks", str(CHUNKS), "--chunk-delay", str(INTERVAL), "--api-key",
                       STUB_KEY, "--sentences") as port:
        yield port


def test_many_long_streams_through_the_proxy_all_complete_without_a_stall(tmp_path: Path, long_stub: int) -> None:
    direct = uvloop.run(run_long_streams(Target("127.0.0.1", long_stub, STUB_KEY, STUB_MODEL, stream=True),
                                         STREAMS, INTERVAL, ramp=0.3, stall=5.0, give_up_after=60))
    assert direct.completed == STREAMS and direct.stalled == 0, direct.errors
    proc, port, key = start_proxy(tmp_path, long_stub, None, long_stub_port=long_stub)
    try:
        result = uvloop.run(run_long_streams(Target("127.0.0.1", port, key, "bench-long", stream=True, users=32),
                                             STREAMS, INTERVAL, ramp=0.3, stall=5.0, give_up_after=60))
    finally:
        proc.stop()
    assert result.errors == {}
    assert result.completed == STREAMS, f"lost {result.lost} of {STREAMS} streams"
    assert result.stalled == 0
    assert result.chunks_per_stream is not None and result.chunks_per_stream.p50 >= CHUNKS   # every sentence
    assert result.gaps_ms is not None and result.gaps_ms.max < 5000
