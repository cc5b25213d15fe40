"""Policy reload under load (issue 3: "a reload adds no latency to requests in flight").

    .venv/bin/python -m bench.reload_bench [--quick] [--interval 0.2] [--no-pin]

Starts the stub upstream and one proxy worker as ``python -m bench`` does, with the app on an operator
policy (``bench-reload``, in the proxy's ``policies_dir``, extending ``cn-anthropomorphic-2026``). Runs
non-streaming latency at 1 in flight and throughput at 16 in flight twice:

- quiet: the policy file stays as it is;
- reloading: a background thread rewrites the file every ``--interval`` seconds, alternating
  ``usage.remind_every`` between 2h and 90m (always valid; written to a temporary name and renamed in,
  as editors and config tools do), so the proxy's watcher reloads continuously.

In both phases the same thread sends one probe request per interval and records the response's
``X-Candor-Policy-Version``, so the two phases carry the same extra load. Reloads are verified from the
proxy's ``candor_policy_reloads_total`` (``/metrics``) and from the distinct versions the probes saw.
Prints Markdown for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.loadgen import LoadResult
from bench.procs import BenchError, Proc, Profiler, cpu_split, http_get
from bench.servers import loadgen, start_proxy, start_stub
from bench.settings import PROXY_MODEL, SCENARIOS, Settings

POLICY_ID = "bench-reload"
VALUES = ("2h", "90m")   # usage.remind_every, alternated: every write is a new, valid version
# where a reload's work runs: resolving the packs (a worker thread), its audit record, compiling the new version
RELOAD_WORK = ("PolicyRegistry._reload_now", "PolicyRegistry.areload", "build_services.<locals>.record_reload",
               "RuleCompiler.compile")
_RELOADS = re.compile(r'^candor_policy_reloads_total\{result="(\w+)"\}\s+([0-9.e+]+)', re.MULTILINE)


def policy_text(remind_every: str) -> str:
    return (f"id: {POLICY_ID}\nextends: cn-anthropomorphic-2026\n"
            "title: Bench operator policy (rewritten continuously by bench/reload_bench.py)\n"
            f"usage:\n  remind_every: {remind_every}\n")


def write_policy(path: Path, remind_every: str) -> None:
    # a new file renamed over the old one: the watcher never reads a half-written file
    tmp = path.with_suffix(".tmp")
    tmp.write_text(policy_text(remind_every))
    os.replace(tmp, path)


def reload_counts(port: int) -> dict[str, float]:
    status, body = http_get(port, "/metrics", timeout=5)
    if status != 200:
        raise BenchError(f"GET /metrics answered HTTP {status}")
    return {m.group(1): float(m.group(2)) for m in _RELOADS.finditer(body.decode())}


def policy_version(port: int, key: str) -> str | None:
    body = json.dumps({"model": PROXY_MODEL, "user": "bench-reload-probe",
                       "messages": [{"role": "user", "content": "Hi"}]})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", "/v1/chat/completions", body,
                     {"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        return resp.getheader("x-candor-policy-version") if resp.status == 200 else None
    finally:
        conn.close()


@dataclass
class Background:
    """One probe request per interval; when ``rewrite`` is set, also a new policy file per interval."""

    path: Path
    port: int
    key: str
    interval: float
    rewrite: bool
    writes: int = 0
    versions: set[str] = field(default_factory=set)
    probe_errors: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            if self.rewrite:
                self.writes += 1
                write_policy(self.path, VALUES[self.writes % 2])
            try:
                version = policy_version(self.port, self.key)
            except OSError:
                version = None
            if version is None:
                self.probe_errors += 1
            else:
                self.versions.add(version)

    def __enter__(self) -> Background:
        self._thread = threading.Thread(target=self._loop, name="bench-reload", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)


@dataclass
class Phase:
    name: str
    latency: LoadResult
    throughput: LoadResult
    reloads: dict[str, float]     # candor_policy_reloads_total by result, during the phase
    writes: int
    versions: int
    probe_errors: int


def run_phase(name: str, settings: Settings, background: Background, port: int, key: str, workdir: Path,
              cpus: set[int] | None) -> Phase:
    c1, c16 = (next(sc for sc in SCENARIOS if sc.key == k) for k in ("nonstream_c1", "nonstream_c16"))
    before = reload_counts(port)
    with background:
        latency = loadgen(settings, c1, port, key, PROXY_MODEL, workdir, cpus)
        throughput = loadgen(settings, c16, port, key, PROXY_MODEL, workdir, cpus)
    after = reload_counts(port)
    delta = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in set(before) | set(after)}
    return Phase(name, latency, throughput, delta, background.writes, len(background.versions),
                 background.probe_errors)


def _ms(v: float) -> str:
    return f"{v:.3f} ms"


def render(quiet: Phase, busy: Phase, settings: Settings, interval: float, pinned: bool) -> str:
    q, b = quiet, busy
    assert q.latency.latency_ms and b.latency.latency_ms and q.throughput.latency_ms and b.throughput.latency_ms
    rows = [
        ("Non-streaming, 1 in flight: latency p50", q.latency.latency_ms.p50, b.latency.latency_ms.p50),
        ("Non-streaming, 1 in flight: latency p90", q.latency.latency_ms.p90, b.latency.latency_ms.p90),
        ("Non-streaming, 1 in flight: latency p99", q.latency.latency_ms.p99, b.latency.latency_ms.p99),
        ("Non-streaming, 16 in flight: latency p50", q.throughput.latency_ms.p50, b.throughput.latency_ms.p50),
        ("Non-streaming, 16 in flight: latency p99", q.throughput.latency_ms.p99, b.throughput.latency_ms.p99),
    ]
    applied = b.reloads.get("applied", 0.0)
    lines = [f"One proxy worker{' pinned to its own CPU' if pinned else ''}, app policy `{POLICY_ID}` (extends "
             f"`cn-anthropomorphic-2026`); latency: {settings.requests:,} requests after {settings.warmup:,} "
             f"warm-up; throughput: {settings.duration:g} s after {settings.warmup_seconds:g} s warm-up. "
             f"Reloading: the policy file rewritten every {interval * 1000:.0f} ms (`usage.remind_every` "
             "2h <-> 90m). Both phases send one probe request per interval.", "",
             "| Measure | Quiet | Reloading | Difference |", "|---|---:|---:|---:|"]
    for label, qv, bv in rows:
        lines.append(f"| {label} | {_ms(qv)} | {_ms(bv)} | {bv - qv:+.3f} ms ({(bv - qv) / qv:+.0%}) |")
    qt, bt = q.throughput.throughput, b.throughput.throughput
    lines.append(f"| Non-streaming, 16 in flight: throughput | {qt:,.0f} req/s | {bt:,.0f} req/s | "
                 f"{bt - qt:+,.0f} req/s ({(bt - qt) / qt:+.1%}) |")
    lines.append(f"| Reloads applied (`candor_policy_reloads_total`) | {q.reloads.get('applied', 0):.0f} | "
                 f"{applied:.0f} (of {b.writes} writes) | |")
    lines.append(f"| Reloads rejected / unchanged | {q.reloads.get('rejected', 0):.0f} / "
                 f"{q.reloads.get('unchanged', 0):.0f} | {b.reloads.get('rejected', 0):.0f} / "
                 f"{b.reloads.get('unchanged', 0):.0f} | |")
    lines.append(f"| Policy file writes / distinct `X-Candor-Policy-Version` seen by the probes | {q.writes} / "
                 f"{q.versions} | {b.writes} / {b.versions} | |")
    ok = applied >= 2 and b.versions >= 2
    lines += ["", f"Reloads {'really happened' if ok else 'DID NOT HAPPEN (the comparison means nothing)'}: "
              f"{applied:.0f} applied while loaded, {b.versions} policy versions answered. Every reload "
              "resolves all packs again (in a worker thread, which on the proxy's one CPU still competes with "
              "the event loop for the GIL). The two alternating versions are compiled once each and then "
              "cached, so compiling rules is not in these figures: an edit that makes a new version also "
              "compiles its rules on its first request (\"Rule compile\" under Per-rule costs)."]
    if q.probe_errors or b.probe_errors:
        lines.append(f"\nProbe requests that failed: quiet {q.probe_errors}, reloading {b.probe_errors}.")
    return "\n".join(lines)


@contextlib.contextmanager
def _workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="candor-reload-bench-"))
    try:
        yield path
    except BenchError as e:
        raise BenchError(f"{e}\n(kept {path} for inspection)") from e
    else:
        shutil.rmtree(path, ignore_errors=True)


def profile_reloading(settings: Settings, path: Path, proxy: Proc, port: int, key: str, workdir: Path,
                      cpus: set[int] | None, interval: float) -> str:
    """py-spy on the proxy during one more (unreported) reloading throughput run."""
    c16 = next(sc for sc in SCENARIOS if sc.key == "nonstream_c16")
    prof = Profiler(proxy.pid, workdir / "profile-reload.txt", settings.warmup_seconds, settings.duration - 0.5)
    with Background(path, port, key, interval, rewrite=True):
        loadgen(settings, c16, port, key, PROXY_MODEL, workdir, cpus, during=prof.tick)
    return prof.summary("Non-streaming, 16 in flight, policy rewritten every "
                        f"{interval * 1000:.0f} ms, through the proxy", RELOAD_WORK)


def run(settings: Settings, interval: float) -> str:
    proxy_cpus, other_cpus = cpu_split(settings.pin)
    with _workdir() as workdir:
        policies = workdir / "policies"
        policies.mkdir()
        path = policies / f"{POLICY_ID}.yaml"
        write_policy(path, VALUES[0])
        stub, stub_port = start_stub(workdir, settings.chunks, other_cpus)
        proxy: Proc | None = None
        try:
            proxy, port, key = start_proxy(workdir, stub_port, proxy_cpus, app_policy=POLICY_ID)
            phases = []
            for name, rewrite in (("quiet", False), ("reloading", True)):
                bg = Background(path, port, key, interval, rewrite)
                phases.append(run_phase(name, settings, bg, port, key, workdir, other_cpus))
                print(f"  {name}: {phases[-1].latency.summary()} | {phases[-1].throughput.summary()} | "
                      f"reloads {phases[-1].reloads}", file=sys.stderr, flush=True)
            profile = profile_reloading(settings, path, proxy, port, key, workdir, other_cpus, interval) \
                if settings.profile else ""
        finally:
            if proxy is not None:
                proxy.stop()
            stub.stop()
    text = render(phases[0], phases[1], settings, interval, proxy_cpus is not None)
    return f"{text}\n\n{profile}" if profile else text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.reload_bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="short phases (seconds): checks the bench works")
    ap.add_argument("--interval", type=float, default=0.2, help="seconds between policy rewrites (default 0.2)")
    ap.add_argument("--no-pin", action="store_true", help="do not pin proxy and load to separate CPUs")
    ap.add_argument("--profile", action="store_true", help="add a py-spy profile of one more reloading run")
    args = ap.parse_args(argv)
    settings = Settings(pin=not args.no_pin, profile=args.profile)
    if args.quick:
        settings.requests, settings.warmup, settings.duration, settings.warmup_seconds = 300, 30, 1.5, 0.3
    try:
        print(run(settings, args.interval))
    except BenchError as e:
        print(f"reload bench failed: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
