"""The transport floor: the bench's scenarios through ``bench/bare_relay.py`` (Candor's server and client stack,
doing nothing else), pinned like Candor, against the same stub, with the proxy's CPU per request.

What it answers: of Candor's added latency and CPU per request, how much would any Python proxy on this stack pay
on this machine, and how much is Candor's own work (its rules, detectors and audit log)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.loadgen import LoadResult
from bench.procs import BenchError, Proc, cpu_seconds, free_port, python_path, wait_ready
from bench.servers import loadgen, stub_requests
from bench.settings import PROXY_MODEL, REPO, STUB_KEY, Scenario, Settings


@dataclass
class Measured:
    """One scenario through one proxy: its load result and what it cost the proxy's processes."""

    result: LoadResult
    upstream_calls: int   # requests the stub answered meanwhile (the warm-up's included)
    cpu_s: float          # CPU seconds the proxy's process tree used meanwhile (/proc counts in 10 ms ticks)

    @property
    def cpu_us_per_request(self) -> float | None:
        return self.cpu_s * 1e6 / self.upstream_calls if self.upstream_calls else None


def measure(settings: Settings, sc: Scenario, stub_port: int, port: int, key: str, pid: int, workdir: Path,
            cpus: set[int] | None, during: Callable[[], None] | None = None) -> Measured:
    """``sc`` through the proxy on ``port`` (process ``pid``), with its CPU per request."""
    calls, cpu = stub_requests(stub_port), cpu_seconds(pid)
    result = loadgen(settings, sc, port, key, PROXY_MODEL, workdir, cpus, during=during)
    return Measured(result, stub_requests(stub_port) - calls, cpu_seconds(pid) - cpu)


@dataclass
class FloorPhase:
    skipped: str = ""
    results: dict[str, Measured] = field(default_factory=dict)


def start_relay(workdir: Path, stub_port: int, cpus: set[int] | None) -> tuple[Proc, int]:
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "bench.bare_relay:app", "--host", "127.0.0.1", "--port", str(port),
            "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
            "--no-server-header", "--no-date-header"]
    env = {**os.environ, "BARE_RELAY_UPSTREAM": f"http://127.0.0.1:{stub_port}", "BARE_RELAY_KEY": STUB_KEY,
           "PYTHONPATH": python_path(REPO)}
    proc = Proc("bare relay", argv, workdir / "bare-relay.log", env=env, cpus=cpus, cwd=REPO)
    wait_ready(proc, port, "/healthz", timeout=30)
    return proc, port


def run_floor(settings: Settings, stub_port: int, workdir: Path, proxy_cpus: set[int] | None,
              other_cpus: set[int] | None, log: Callable[[str], None]) -> FloorPhase:
    phase = FloorPhase()
    try:
        proc, port = start_relay(workdir, stub_port, proxy_cpus)
    except BenchError as e:
        phase.skipped = f"the bare relay did not start: {str(e)[:500]}"
        log(f"  transport floor skipped: {phase.skipped}")
        return phase
    try:
        for sc in settings.scenarios:
            phase.results[sc.key] = m = measure(settings, sc, stub_port, port, "unused", proc.pid, workdir,
                                                other_cpus)
            log(f"  relay   {m.result.summary()}")
    finally:
        proc.stop()
    return phase
