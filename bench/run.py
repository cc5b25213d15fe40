"""``python -m bench``: measure what Candor adds over calling the same upstream directly.

One run starts the stub upstream (own process), writes a temporary ``candor.yaml`` pointing model
``bench-model`` at it, starts ``candor serve --workers 1`` (own process), then runs every scenario
twice with the load generator (own process): straight at the stub, and through the proxy. It samples
the proxy worker's RSS during the proxy runs, prints a Markdown report and rewrites
``bench/RESULTS.md``.

On a machine with two or more CPUs the proxy is pinned to one CPU and the stub plus the load
generator to the others, so the proxy gets one core to itself and the numbers repeat.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from bench.floor import measure, run_floor
from bench.longstreams import raise_nofile
from bench.phases import long_streams, run_litellm, run_long_streams, run_state, run_workers, start_long_stub
from bench.procs import BenchError, Proc, Profiler, RssSampler, cpu_split, python_path
from bench.report import BenchReport, render_markdown
from bench.servers import loadgen, probe_policy, start_proxy, start_stub
from bench.settings import (
    EXTRA_SECTIONS,
    PROXY_MODEL,
    REPO,
    RESULTS,
    SCENARIOS,
    STUB_KEY,
    STUB_MODEL,
    Settings,
    pick_scenarios,
)


def run(settings: Settings, log: Callable[[str], None] = print) -> BenchReport:
    proxy_cpus, other_cpus = cpu_split(settings.pin)
    report = BenchReport(settings=settings, proxy_cpus=proxy_cpus, other_cpus=other_cpus)
    with scratch_dir() as workdir:
        stub, stub_port = start_stub(workdir, settings.chunks, other_cpus)
        proxy: Proc | None = None
        long_stub: Proc | None = None
        long_port: int | None = None
        try:
            log(f"stub upstream on port {stub_port}")
            if settings.long_streams > 0:
                long_stub, long_port = start_long_stub(workdir, settings, other_cpus)
            sampler = None
            if not settings.direct_only:
                proxy, proxy_port, app_key = start_proxy(workdir, stub_port, proxy_cpus, long_stub_port=long_port)
                sampler = RssSampler(proxy.pid, proxy_port)
                sampler.sample()
                report.rss_idle_mb = sampler.worker_peak_mb()
                log(f"proxy (pid {proxy.pid}) on port {proxy_port}: {shlex.join(proxy.argv)}")
                report.policy_probe = probe_policy(proxy_port, app_key)
                log(f"  {report.policy_probe}")
            for sc in settings.scenarios:
                direct = loadgen(settings, sc, stub_port, STUB_KEY, STUB_MODEL, workdir, other_cpus)
                log(f"  direct  {direct.summary()}")
                report.direct[sc.key] = direct
                if proxy is None or sampler is None:
                    continue
                measured = measure(settings, sc, stub_port, proxy_port, app_key, proxy.pid, workdir, other_cpus,
                                   during=sampler.sample)
                via = measured.result
                report.upstream_calls[sc.key] = (measured.upstream_calls, via.requests)
                report.proxy_cpu_us[sc.key] = measured.cpu_us_per_request
                log(f"  proxy   {via.summary()}")
                report.proxy[sc.key] = via
                if settings.profile and sc.timed:
                    prof = Profiler(proxy.pid, workdir / f"profile-{sc.key}.txt", settings.warmup_seconds,
                                    settings.duration - 0.5)
                    loadgen(settings, sc, proxy_port, app_key, PROXY_MODEL, workdir, other_cpus, during=prof.tick)
                    report.profiles.append(prof.summary(f"{sc.title}, through the proxy"))
                    log(f"  profiled {sc.title}")
            if sampler is not None:
                report.rss_peak_mb = sampler.worker_peak_mb()
                report.rss_pid_note = ("the process serving the connections" if sampler.worker is not None
                                       else "largest process of the proxy's tree")
            if long_port is not None:
                log(f"long streams: {settings.long_streams} at once, a chunk every {settings.long_interval:g} s, "
                    f"{settings.long_chunks} chunks")
                if proxy is None:
                    report.long.direct = long_streams(settings, long_port, STUB_KEY, STUB_MODEL, workdir, other_cpus)
                    log(f"  long streams direct  {report.long.direct.summary()}")
                else:
                    report.long = run_long_streams(settings, long_port, proxy.pid, proxy_port, app_key, workdir,
                                                   other_cpus, log)
            if proxy is not None:
                proxy.stop()
                proxy = None
            if not settings.direct_only and settings.floor:
                log("transport floor: the same stack relaying, no rule (bench/bare_relay.py)")
                with _phase(report, "transport floor", log):
                    report.floor = run_floor(settings, stub_port, workdir, proxy_cpus, other_cpus, log)
            if not settings.direct_only and settings.litellm:
                with _phase(report, "LiteLLM side by side", log):
                    report.litellm = run_litellm(settings, stub_port, workdir, proxy_cpus, other_cpus, log)
            if not settings.direct_only and settings.workers:
                log("workers: 1 and 2, nothing pinned")
                with _phase(report, "several workers", log):
                    report.workers = run_workers(settings, stub_port, workdir, log)
            if not settings.direct_only and settings.state:
                log("shared state: Redis, PostgreSQL")
                with _phase(report, "shared state", log):
                    report.state = run_state(settings, stub_port, workdir, proxy_cpus, other_cpus, log)
        finally:
            if proxy is not None:
                proxy.stop()
            if long_stub is not None:
                long_stub.stop()
            stub.stop()
    for name in settings.extras:
        run_extra(report, name, log)
    return report


def run_extra(report: BenchReport, name: str, log: Callable[[str], None]) -> None:
    """Run one extra section's script and append its Markdown; a failure is reported in its place (and
    makes the run exit 1), so the measurements already taken are still written."""
    extra = EXTRA_SECTIONS[name]
    argv = extra.argv(sys.executable, REPO, report.settings.quick, report.settings.profile)
    shown = shlex.join(["python", *argv[1:]]).replace(str(REPO) + os.sep, "")
    log(f"{extra.title}: {shown}")
    env = {**os.environ, "PYTHONPATH": python_path(REPO)}
    try:
        done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=1800, env=env)
        failure = "" if done.returncode == 0 else f"exit {done.returncode}:\n{done.stderr[-3000:]}"
        body = done.stdout.strip()
    except subprocess.TimeoutExpired:
        failure, body = "did not finish within 30 minutes", ""
    if failure:
        report.extra_failures.append(f"{shown}: {failure}")
        body = f"FAILED ({failure.splitlines()[0]}); see the run's output.\n\n{body}".rstrip()
        log(f"  {shown} failed: {failure}")
    report.extra_sections.append(f"## {extra.title}\n\n`{shown}`\n\n{body}")


@contextlib.contextmanager
def _phase(report: BenchReport, name: str, log: Callable[[str], None]) -> Iterator[None]:
    """A phase that fails is reported (and makes the run exit 1); the other measurements are still written."""
    try:
        yield
    except BenchError as e:
        report.extra_failures.append(f"{name}: {e}")
        report.extra_sections.append(f"## {name}\n\nFAILED: {str(e)[:1500]}")
        log(f"  {name} failed: {e}")


@contextlib.contextmanager
def scratch_dir() -> Iterator[Path]:
    """A temporary directory for a run's logs and config; kept when the run fails (or ``CANDOR_BENCH_KEEP=1``)."""
    path = Path(tempfile.mkdtemp(prefix="candor-bench-"))
    keep = os.environ.get("CANDOR_BENCH_KEEP") == "1"   # keep logs and config to look at afterwards
    try:
        yield path
    except BenchError as e:
        keep = True  # the logs and config the error message points at
        raise BenchError(f"{e}\n(kept {path} for inspection)") from e
    finally:
        if not keep:
            shutil.rmtree(path, ignore_errors=True)


def parse_args(argv: list[str] | None) -> tuple[Settings, argparse.Namespace]:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a short run (seconds) to check the harness works")
    ap.add_argument("--requests", type=int, help="measured requests per latency scenario (default 2000)")
    ap.add_argument("--warmup", type=int, help="warm-up requests per latency scenario (default 200)")
    ap.add_argument("--duration", type=float, help="seconds measured per throughput scenario (default 10)")
    ap.add_argument("--chunks", type=int, default=12, help="content chunks per streamed stub reply")
    ap.add_argument("--scenarios", help=f"comma-separated subset of: {', '.join(s.key for s in SCENARIOS)}")
    ap.add_argument("--direct-only", action="store_true", help="measure the stub alone (no proxy)")
    ap.add_argument("--no-pin", action="store_true", help="do not pin proxy and load to separate CPUs")
    ap.add_argument("--no-write", action="store_true", help="print the report; leave bench/RESULTS.md alone")
    ap.add_argument("--profile", action="store_true", help="add a py-spy profile of the proxy under load")
    ap.add_argument("--strict", action="store_true", help="exit 2 when a target is missed")
    ap.add_argument("--long-streams", type=int, help="streams held open at once in the long-streams phase "
                    "(default 1000, --quick 200; 0 skips it)")
    ap.add_argument("--long-interval", type=float, default=0.4, help="seconds between chunks of a long stream")
    ap.add_argument("--long-chunks", type=int, default=20, help="content chunks per long stream")
    ap.add_argument("--long-ramp", type=float, help="seconds over which the long streams start (default: half "
                    "a stream's length, so all are open at once for the other half)")
    ap.add_argument("--no-litellm", action="store_true", help="skip the LiteLLM proxy side by side")
    ap.add_argument("--no-litellm-install", action="store_true",
                    help="use bench/.litellm-venv only if it exists (never pip install)")
    ap.add_argument("--no-floor", action="store_true",
                    help="skip the transport floor (the same server and client stack relaying, no rule)")
    ap.add_argument("--no-workers", action="store_true", help="skip the 1-vs-2-workers phase")
    ap.add_argument("--no-state", action="store_true", help="skip the Redis / PostgreSQL shared-state phase")
    ap.add_argument("--no-extras", action="store_true",
                    help=f"skip the extra sections ({', '.join(EXTRA_SECTIONS)}) unless named with --with-NAME")
    for name, extra in EXTRA_SECTIONS.items():
        ap.add_argument(f"--with-{name}", action="store_true", help=f"run: {extra.title} (with --no-extras "
                        "or --direct-only)")
        ap.add_argument(f"--without-{name}", action="store_true", help=f"skip: {extra.title}")
    args = ap.parse_args(argv)
    s = Settings(chunks=args.chunks, pin=not args.no_pin, direct_only=args.direct_only, quick=args.quick,
                 profile=args.profile,
                 command=shlex.join(["python", "-m", "bench", *(argv if argv is not None else sys.argv[1:])]))
    s.long_streams = 1000
    if args.quick:
        s.shorten()
        s.long_streams = 200
        args.long_chunks = 10 if args.long_chunks == 20 else args.long_chunks
    if args.long_streams is not None:
        s.long_streams = args.long_streams
    s.long_interval, s.long_chunks, s.long_ramp = args.long_interval, args.long_chunks, args.long_ramp
    s.litellm, s.litellm_install = not args.no_litellm, not args.no_litellm_install
    s.workers, s.state, s.floor = not args.no_workers, not args.no_state, not args.no_floor
    s.requests = args.requests or s.requests
    s.warmup = args.warmup if args.warmup is not None else s.warmup
    s.duration = args.duration or s.duration
    if args.scenarios:
        try:
            s.scenarios = pick_scenarios(args.scenarios)
        except ValueError as e:
            ap.error(str(e))
    # every extra section by default; --direct-only checks the harness alone, so it runs none unless named
    default = not (args.no_extras or args.direct_only)
    s.extras = [name for name in EXTRA_SECTIONS
                if (default or getattr(args, f"with_{name}")) and not getattr(args, f"without_{name}")]
    return s, args


def main(argv: list[str] | None = None) -> int:
    settings, args = parse_args(argv)
    # the long streams hold a socket each in the load generator, the proxy and the stub: children inherit
    raise_nofile(65536)
    try:
        report = run(settings, log=lambda m: print(m, file=sys.stderr, flush=True))
    except BenchError as e:
        print(f"bench failed: {e}", file=sys.stderr)
        return 1
    text = render_markdown(report)
    print(text)
    if not args.no_write and not settings.direct_only:
        RESULTS.write_text(text)
        print(f"wrote {RESULTS.relative_to(REPO)}", file=sys.stderr)
    if report.extra_failures:
        print("bench failed: extra section(s) failed:\n" + "\n".join(report.extra_failures), file=sys.stderr)
        return 1
    return 2 if args.strict and not report.all_pass() else 0
