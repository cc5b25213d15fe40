"""The transport floor (``bench/floor.py``, ``bench/bare_relay.py``): the bare relay passes the stub's replies
through unchanged to the real SDK, the phase measures every scenario with the relay's CPU per request, and the
report's budget lines are the arithmetic of what was measured."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from bench import run as bench_run
from bench.floor import FloorPhase, Measured, run_floor, start_relay
from bench.loadgen import LoadResult, Stats
from bench.procs import cpu_seconds
from bench.report import BenchReport, render_markdown
from bench.stub_upstream import content_pieces
from bench.variety import name_of
from tests import web
from tests.bench_support import reserved_ports, stub_requests, stub_upstream  # noqa: F401  (reserved_ports: the fixture, autouse)

CHUNKS = 4


@pytest.fixture(scope="module")
def stub_port() -> Iterator[int]:
    with stub_upstream("--chunks", str(CHUNKS), "--api-key", "sk-stub") as port:
        yield port


def test_bare_relay_passes_replies_and_streams_through_unchanged(tmp_path: Path, stub_port: int) -> None:
    proc, port = start_relay(tmp_path, stub_port, None)
    try:
        sdk = web.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="anything", max_retries=0)
        reply = sdk.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
        # the stub's n-th reply names name_of(n): the relay sent it on with the stub's key, and the body came back
        assert reply.choices[0].message.content == "".join(
            content_pieces(CHUNKS, name=name_of(stub_requests(stub_port))))
        chunks = list(sdk.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}],
                                                  stream=True))
        assert [c.choices[0].delta.content for c in chunks[1:-1]] == content_pieces(
            CHUNKS, name=name_of(stub_requests(stub_port)))
        assert chunks[-1].choices[0].finish_reason == "stop"
        with pytest.raises(openai.NotFoundError):
            sdk.embeddings.create(model="m", input="hi")   # only the chat route is relayed
    finally:
        proc.stop()


def test_cpu_seconds_counts_a_busy_process() -> None:
    busy = subprocess.Popen([sys.executable, "-c", "import time\nt = time.process_time()\n"
                             "while time.process_time() - t < 0.4: pass\ninput()"], stdin=subprocess.PIPE)
    try:
        time.sleep(0.2)
        deadline = time.monotonic() + 10
        while cpu_seconds(busy.pid) < 0.35 and time.monotonic() < deadline:
            time.sleep(0.05)
        used = cpu_seconds(busy.pid)
        assert 0.35 <= used < 5.0
        time.sleep(0.3)   # now waiting on its input: it uses no more
        assert cpu_seconds(busy.pid) - used < 0.1
    finally:
        busy.kill()
        busy.wait(5)


def test_run_floor_measures_every_scenario_with_its_cpu_per_request(tmp_path: Path, stub_port: int) -> None:
    settings, _ = bench_run.parse_args(["--quick", "--requests", "30", "--warmup", "5", "--duration", "0.3",
                                        "--scenarios", "nonstream_c1,stream_c16", "--no-pin"])
    before = stub_requests(stub_port)
    phase = run_floor(settings, stub_port, tmp_path, None, None, lambda _: None)
    assert phase.skipped == "" and set(phase.results) == {"nonstream_c1", "stream_c16"}
    one = phase.results["nonstream_c1"]
    assert one.result.requests == 30 and one.result.errors == {}
    assert one.upstream_calls == 35   # the warm-up reaches the stub too
    assert phase.results["stream_c16"].result.requests > 0
    assert sum(m.upstream_calls for m in phase.results.values()) == stub_requests(stub_port) - before
    # /proc counts CPU time in clock ticks (10 ms): the 35 requests of the first scenario may fall inside one, the
    # streams of the timed one (0.3 s of 16 in flight) cannot
    assert all(m.cpu_us_per_request is not None and m.cpu_us_per_request >= 0 for m in phase.results.values())
    streamed = phase.results["stream_c16"].cpu_us_per_request
    assert streamed is not None and streamed > 0


def _result(p50_ms: float, throughput: float = 0.0) -> LoadResult:
    return LoadResult(stream=False, concurrency=1, requests=100, elapsed=1.0, throughput=throughput,
                      latency_ms=Stats(p50_ms, p50_ms, p50_ms, p50_ms, p50_ms), ttft_ms=None)


def test_report_states_what_the_goals_leave_after_the_floor() -> None:
    settings, _ = bench_run.parse_args(["--scenarios", "nonstream_c1,nonstream_c16"])
    report = BenchReport(settings=settings, proxy_cpus=None, other_cpus=None)
    report.direct = {"nonstream_c1": _result(0.05), "nonstream_c16": _result(0.5, 20_000)}
    report.proxy = {"nonstream_c1": _result(1.25), "nonstream_c16": _result(20.0, 800)}
    report.proxy_cpu_us = {"nonstream_c1": 1500.0, "nonstream_c16": 1250.0}
    report.floor = FloorPhase(results={"nonstream_c1": Measured(_result(0.30), 100, 0.02),
                                       "nonstream_c16": Measured(_result(2.5, 5000), 1000, 0.15)})
    text = render_markdown(report)
    # 1e6 / 2,500 = 400 µs a request; the floor 150 µs; Candor's own 1,250 - 150
    assert ("one worker has 400 µs of CPU per request; the floor took 150 µs, which leaves 250 µs for Candor's own "
            "work. It took 1,100 µs in this run.") in text
    # added: floor 0.25 ms, Candor 1.20 ms; the goal 0.6 ms
    assert "the floor adds 0.250 ms, which leaves 0.350 ms for Candor's own work. It took 0.950 ms" in text
    assert "| Non-streaming, 1 in flight | latency p50 | 0.050 ms | 0.300 ms | 1.250 ms | +0.250 ms | +1.200 ms | " \
           "+0.950 ms |" in text
    assert "| Non-streaming, 16 in flight | proxy CPU per request | | 150 µs | 1,250 µs | | | +1,100 µs |" in text


def test_a_relay_that_does_not_start_is_reported_not_raised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings, _ = bench_run.parse_args(["--quick", "--scenarios", "nonstream_c1", "--no-pin"])
    with socket.socket() as taken:   # the relay is given a port something else holds: uvicorn exits
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        monkeypatch.setattr("bench.floor.free_port", lambda: taken.getsockname()[1])
        phase = run_floor(settings, 9, tmp_path, None, None, lambda _: None)
    assert phase.results == {}
    assert phase.skipped.startswith("the bare relay did not start") and "exited" in phase.skipped
