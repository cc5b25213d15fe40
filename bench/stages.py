"""Where one request's time goes in the proxy, at one request in flight: ``python -m bench.stages``.

It starts the stub upstream and ``candor serve`` under ``bench.stage_timer`` (the same proxy, with a clock on the
stages of a chat request), pinned as ``python -m bench`` pins them, and sends non-streaming requests one at a time,
straight at the stub and through the proxy. It prints Markdown: the added latency, and each stage's median wall
time inside the proxy (admission with the request-side detectors, the upstream call, the reply's guards and
rendering, the audit record and its store write). A stage's time holds the stages nested in it; the rows marked
"difference" subtract medians, so they are estimates, not measured spans.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from bench.procs import BenchError, Proc, cpu_split
from bench.servers import loadgen, start_proxy, start_stub
from bench.settings import PROXY_MODEL, STUB_KEY, STUB_MODEL, Scenario, Settings

SCENARIO = Scenario("stages_c1", "Non-streaming, 1 in flight", stream=False, concurrency=1, timed=False)

# (stage, what it holds), as bench.stage_timer names them
HOLDS = {
    "request": "the chat route, from the parsed request to the reply's last byte handed to the server",
    "admission": "session, gates (request-side detectors: crisis, exit, minors, identity) and shapers",
    "upstream": "the provider's call through the pooled client, its reply read whole",
    "reply": "the reply's guards (output-side detectors), labels, rendering and its audit record",
    "record": "the exchange's audit event: sealed, content encrypted, committed",
    "audit_store": "the SQLite transaction of that event (one per request at one in flight)",
}


@dataclass
class StageTimes:
    added_p50_ms: float
    direct_p50_ms: float
    proxy_p50_ms: float
    medians_us: dict[str, float]
    counts: dict[str, int]

    def difference(self, whole: str, *parts: str) -> float:
        return self.medians_us[whole] - sum(self.medians_us[p] for p in parts)


def read_samples(proc: Proc, path: Path, timeout: float = 10.0) -> dict[str, list[float]]:
    """Ask the timed proxy for its samples (SIGUSR1) and read them; each call returns those since the last."""
    path.unlink(missing_ok=True)
    os.kill(proc.pid, signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline or proc.popen.poll() is not None:
            raise BenchError(f"the timed proxy wrote no samples to {path}:\n{proc.tail()}")
        time.sleep(0.05)
    data: dict[str, list[float]] = json.loads(path.read_bytes())
    return data


def measure(settings: Settings, workdir: Path) -> StageTimes:
    proxy_cpus, other_cpus = cpu_split(settings.pin)
    stub, stub_port = start_stub(workdir, settings.chunks, other_cpus)
    samples_file = workdir / "stages.json"
    try:
        proxy, port, key = start_proxy(workdir, stub_port, proxy_cpus, env={"CANDOR_BENCH_STAGES": str(samples_file)},
                                       launcher=[sys.executable, "-m", "bench.stage_timer"])
        try:
            direct = loadgen(settings, SCENARIO, stub_port, STUB_KEY, STUB_MODEL, workdir, other_cpus)
            loadgen(replace(settings, requests=settings.warmup, warmup=0), SCENARIO, port, key, PROXY_MODEL, workdir,
                    other_cpus)
            read_samples(proxy, samples_file)   # the warm-up's, dropped
            through = loadgen(replace(settings, warmup=0), SCENARIO, port, key, PROXY_MODEL, workdir, other_cpus)
            samples = read_samples(proxy, samples_file)
        finally:
            proxy.stop()
    finally:
        stub.stop()
    missing = [name for name in HOLDS if not samples.get(name)]
    if missing:
        raise BenchError(f"no samples of stage(s) {', '.join(missing)}: is the audit log on SQLite?")
    if direct.latency_ms is None or through.latency_ms is None:
        raise BenchError("the load generator measured no latency")
    return StageTimes(
        added_p50_ms=through.latency_ms.p50 - direct.latency_ms.p50, direct_p50_ms=direct.latency_ms.p50,
        proxy_p50_ms=through.latency_ms.p50,
        medians_us={name: statistics.median(values) for name, values in samples.items() if values},
        counts={name: len(values) for name, values in samples.items()})


def render(t: StageTimes, requests: int) -> str:
    lines = [
        f"{requests:,} non-streaming requests one at a time after a warm-up; the stub's reply (12 sentences) and the "
        "bench's user turn, each naming someone new. p50 latency: direct "
        f"{t.direct_p50_ms:.3f} ms, through Candor {t.proxy_p50_ms:.3f} ms, added **{t.added_p50_ms:+.3f} ms**.",
        "",
        "| Stage, inside the proxy | Median | Calls | What it holds |",
        "|---|---:|---:|---|",
    ]
    for name, holds in HOLDS.items():
        lines.append(f"| `{name}` | {t.medians_us[name]:,.0f} µs | {t.counts[name]:,} | {holds} |")
    own = t.difference("request", "upstream")
    lines += [
        f"| request − upstream (difference) | {own:,.0f} µs | | Candor's own time on the request's path |",
        f"| reply − record (difference) | {t.difference('reply', 'record'):,.0f} µs | | output-side guards, labels "
        "and rendering |",
        f"| record − audit_store (difference) | {t.difference('record', 'audit_store'):,.0f} µs | | sealing, content "
        "encryption and the writer's hand-off |",
        f"| request − admission − upstream − reply (difference) | "
        f"{t.difference('request', 'admission', 'upstream', 'reply'):,.0f} µs | | routing, the exchange, the "
        "upstream body, the metrics and log line |",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.stages", description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--quick", action="store_true", help="few requests: checks the bench works (numbers are noisy)")
    ap.add_argument("--no-pin", action="store_true", help="do not pin proxy and load to separate CPUs")
    args = ap.parse_args(argv)
    requests, warmup = (200, 50) if args.quick else (args.requests, args.warmup)
    settings = Settings(requests=requests, warmup=warmup, pin=not args.no_pin)
    with tempfile.TemporaryDirectory(prefix="candor-stages-") as tmp:
        try:
            times = measure(settings, Path(tmp))
        except BenchError as e:
            print(f"bench.stages failed: {e}", file=sys.stderr)
            return 1
    print(render(times, requests))
    return 0


if __name__ == "__main__":
    sys.exit(main())
