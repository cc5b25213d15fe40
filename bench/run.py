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
import datetime
import http.client
import json
import os
import platform
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .loadgen import LoadResult, Stats

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "RESULTS.md"
STUB_KEY = "sk-stub"
STUB_MODEL = "stub-model"
PROXY_MODEL = "bench-model"


class BenchError(Exception):
    """A run that cannot produce trustworthy numbers; the message says why and what to look at."""


@dataclass(frozen=True)
class Scenario:
    """One measurement, run against the stub and against the proxy with the same settings."""

    key: str
    title: str
    stream: bool
    concurrency: int
    timed: bool  # True: a timed window (throughput); False: a fixed number of requests (latency)
    headers: tuple[tuple[str, str], ...] = ()


# Add scenarios here; the report lists them in this order.
SCENARIOS: list[Scenario] = [
    Scenario("nonstream_c1", "Non-streaming, 1 in flight", stream=False, concurrency=1, timed=False),
    Scenario("nonstream_c16", "Non-streaming, 16 in flight", stream=False, concurrency=16, timed=True),
    Scenario("stream_c1", "Streaming, 1 in flight", stream=True, concurrency=1, timed=False),
    Scenario("stream_c16", "Streaming, 16 in flight", stream=True, concurrency=16, timed=True),
]

@dataclass(frozen=True)
class ExtraSection:
    """``--with-NAME``: run a script of the repository after the proxy runs; its stdout (Markdown) is
    appended to the report under ``title``."""

    title: str
    script: str
    quick_args: tuple[str, ...] = ()


EXTRA_SECTIONS: dict[str, ExtraSection] = {
    "audit": ExtraSection("Audit log throughput", "bench/audit_bench.py", ("--events", "2000")),
}


@dataclass
class Settings:
    requests: int = 2000
    warmup: int = 200
    duration: float = 10.0
    warmup_seconds: float = 2.0
    chunks: int = 12
    pin: bool = True
    direct_only: bool = False
    scenarios: list[Scenario] = field(default_factory=lambda: list(SCENARIOS))
    extras: list[str] = field(default_factory=list)
    command: str = "python -m bench"
    quick: bool = False
    profile: bool = False


# --- report --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    name: str
    goal: str
    limit: float
    higher_is_better: bool


TARGETS = {
    "added_p50": Target("Added latency p50, non-streaming, 1 in flight", "<= 1 ms", 1.0, False),
    "added_p99": Target("Added latency p99, non-streaming, 1 in flight", "<= 5 ms", 5.0, False),
    "added_ttft_p50": Target("Added TTFT p50, streaming, 1 in flight", "<= 1 ms", 1.0, False),
    "added_ttft_p99": Target("Added TTFT p99, streaming, 1 in flight", "<= 5 ms", 5.0, False),
    "rps": Target("Throughput, non-streaming, 16 in flight, one worker", ">= 1,000 req/s", 1000.0, True),
    "rps_stream": Target("Throughput, streaming, 16 in flight, one worker", ">= 1,000 req/s", 1000.0, True),
    "rss": Target("Worker RSS, max under load", "<= 200 MB", 200.0, False),
}


@dataclass
class BenchReport:
    settings: Settings
    proxy_cpus: set[int] | None
    other_cpus: set[int] | None
    direct: dict[str, LoadResult] = field(default_factory=dict)
    proxy: dict[str, LoadResult] = field(default_factory=dict)
    upstream_calls: dict[str, tuple[int, int]] = field(default_factory=dict)  # (stub saw, proxy answered)
    rss_idle_mb: float | None = None
    rss_peak_mb: float | None = None
    rss_pid_note: str = ""
    extra_sections: list[str] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)
    policy_probe: str = ""
    # other work on the machine shows up as proxy latency: record how busy it was before the run
    load_before: str = field(default_factory=lambda: load_average())
    finished: str = field(
        default_factory=lambda: datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"))

    def _added(self, key: str, which: str, q: str) -> float | None:
        d, p = self.direct.get(key), self.proxy.get(key)
        ds: Stats | None = getattr(d, which) if d else None
        ps: Stats | None = getattr(p, which) if p else None
        return getattr(ps, q) - getattr(ds, q) if ds and ps else None

    def measured(self) -> dict[str, float | None]:
        rps = self.proxy.get("nonstream_c16")
        rps_stream = self.proxy.get("stream_c16")
        return {
            "added_p50": self._added("nonstream_c1", "latency_ms", "p50"),
            "added_p99": self._added("nonstream_c1", "latency_ms", "p99"),
            "added_ttft_p50": self._added("stream_c1", "ttft_ms", "p50"),
            "added_ttft_p99": self._added("stream_c1", "ttft_ms", "p99"),
            "rps": rps.throughput if rps else None,
            "rps_stream": rps_stream.throughput if rps_stream else None,
            "rss": self.rss_peak_mb,
        }

    def verdicts(self) -> list[tuple[Target, float | None, str]]:
        out = []
        for key, value in self.measured().items():
            t = TARGETS[key]
            ok = value is not None and (value >= t.limit if t.higher_is_better else value <= t.limit)
            out.append((t, value, "n/a" if value is None else "PASS" if ok else "MISS"))
        return out

    def all_pass(self) -> bool:
        return all(v != "MISS" for _, _, v in self.verdicts())


def machine() -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    commit = "unknown"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=REPO, capture_output=True,
                                text=True, timeout=5).stdout.strip() or commit
    return {"CPU": cpu, "Cores": str(os.cpu_count()), "Python": platform.python_version(),
            "OS": f"{platform.system()} {platform.release()}", "Candor commit": commit}


def load_average() -> str:
    with contextlib.suppress(OSError):
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return "unknown"


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f} ms"


def _rows(r: BenchReport, sc: Scenario) -> list[tuple[str, str, str, str]]:
    d, p = r.direct.get(sc.key), r.proxy.get(sc.key)
    rows: list[tuple[str, str, str, str]] = []
    if sc.timed:
        ratio = f"{p.throughput / d.throughput:.1%} of direct" if d and p and d.throughput else ""
        rows.append(("throughput", f"{d.throughput:,.0f} req/s" if d else "-",
                     f"{p.throughput:,.0f} req/s" if p else "-", ratio))
    metrics = [("ttft_ms", "TTFT"), ("latency_ms", "to last byte")] if sc.stream else [
        ("latency_ms", "latency")]
    for which, label in metrics:
        for q in ("p50", "p99") if sc.timed else ("p50", "p90", "p99"):
            dv = getattr(getattr(d, which), q) if d and getattr(d, which) else None
            pv = getattr(getattr(p, which), q) if p and getattr(p, which) else None
            added = f"+{pv - dv:.3f} ms" if dv is not None and pv is not None else "-"
            rows.append((f"{label} {q}", _ms(dv), _ms(pv), added.replace("+-", "-")))
    return rows


def render_markdown(r: BenchReport) -> str:
    s = r.settings
    pin = (f"proxy pinned to CPU {sorted(r.proxy_cpus)}, stub and load generator to CPU "
           f"{sorted(r.other_cpus or [])}" if r.proxy_cpus else "no CPU pinning")
    lines = ["# Candor benchmark results", "",
             "Regenerate with `python -m bench` (about two minutes); this file is rewritten by each run.", "",
             "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in machine().items()]
    lines += [f"| Load average before the run (1, 5, 15 min) | {r.load_before} |",
              f"| Date | {r.finished} |", f"| Command | `{s.command}` |", f"| Placement | {pin} |",
              f"| Load | latency: {s.requests:,} requests after {s.warmup:,} warm-up; throughput: "
              f"{s.duration:g} s window after {s.warmup_seconds:g} s warm-up; streamed replies: {s.chunks} "
              "content chunks |", ""]
    if r.proxy:
        lines += ["## Targets", "", "Pass-through path (OpenAI-compatible upstream), one worker, the app's "
                  "default policy (see Checks below for what it did), audit log in SQLite.", "",
                  "| Target | Goal | Measured | |", "|---|---|---|---|"]
        for t, value, verdict in r.verdicts():
            unit = " req/s" if "req/s" in t.goal else " MB" if "MB" in t.goal else " ms"
            shown = "-" if value is None else f"{value:,.0f}{unit}" if unit != " ms" else f"{value:.3f} ms"
            lines.append(f"| {t.name} | {t.goal} | {shown} | {verdict} |")
        lines.append("")
    lines += ["## Measurements", "", "Direct = the load generator calls the stub upstream; proxy = the same "
              "requests through Candor to the same stub. Added = proxy - direct at the same percentile.", "",
              "| Scenario | Metric | Direct | Proxy | Added |", "|---|---|---|---|---|"]
    for sc in s.scenarios:
        for metric, dv, pv, added in _rows(r, sc):
            lines.append(f"| {sc.title} | {metric} | {dv} | {pv} | {added} |")
    if r.proxy:
        idle = f"{r.rss_idle_mb:.1f} MB" if r.rss_idle_mb is not None else "-"
        peak = f"{r.rss_peak_mb:.1f} MB" if r.rss_peak_mb is not None else "-"
        lines += ["", f"Proxy worker RSS ({r.rss_pid_note}, VmRSS sampled every 0.2 s): {idle} after "
                  f"start-up, {peak} max under load.", ""]
        calls = ", ".join(f"{k}: {seen:,} upstream calls for {done:,} measured replies"
                          for k, (seen, done) in r.upstream_calls.items())
        reached = all(seen >= done for seen, done in r.upstream_calls.values())
        compliance = all('"compliance"' in res.sample_body for res in r.proxy.values())
        lines += ["Checks:", "",
                  f"- {'every' if reached else 'NOT every'} proxied reply came from the stub ({calls}; warm-up "
                  "requests also reach it)",
                  f"- replies carry a `compliance` object: {'yes' if compliance else 'NO'}",
                  f"- {r.policy_probe}"]
    lines += ["", "## How it is measured", "",
              "- Stub upstream (`bench/stub_upstream.py`): raw asyncio + uvloop + httptools, precomputed "
              "OpenAI-format bodies; tens of thousands of requests/s, so it is never the bottleneck.",
              "- Load generator (`bench/loadgen.py`, its own process): keep-alive HTTP/1.1 connections, one "
              "request in flight per connection, precomputed request bytes; latency runs to the last byte of "
              "the body, TTFT to the first SSE event with non-empty `delta.content`. Any non-2xx reply, "
              "broken connection or stream without `data: [DONE]` fails the run.",
              "- Proxy: `candor serve --config <temporary candor.yaml> --workers 1`, model `bench-model` -> "
              "`openai/stub-model` at the stub, one app key, audit in a temporary SQLite file.",
              "- Throughput counts requests completed inside the measured window."]
    if r.profiles:
        lines += ["", "## Where the proxy's time goes", "",
                  "`python -m bench --profile`: py-spy sampled the proxy during an extra run of each throughput "
                  "scenario (not the measured one).", ""]
        lines += ["\n\n".join(r.profiles)]
    for extra in r.extra_sections:
        lines += ["", extra.rstrip()]
    return "\n".join(lines) + "\n"


# --- processes -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_split(pin: bool) -> tuple[set[int] | None, set[int] | None]:
    """(CPUs for the proxy, CPUs for stub and load generator), or (None, None) when not pinning."""
    cpus = sorted(os.sched_getaffinity(0))
    if not pin or len(cpus) < 2:
        return None, None
    return {cpus[-1]}, set(cpus[:-1])


class Proc:
    """A child process whose output goes to a log file, so a failure can show its tail."""

    def __init__(self, name: str, argv: list[str], log: Path, env: dict[str, str] | None = None,
                 cpus: set[int] | None = None, cwd: Path = REPO) -> None:
        self.name, self.argv, self.log = name, argv, log
        self._out = open(log, "wb")  # noqa: SIM115 - lives as long as the process
        pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
        self.popen = subprocess.Popen(argv, stdout=self._out, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                      preexec_fn=pin, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        if self.popen.poll() is None:
            # the whole session: a server that forked workers takes them down with it
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, 15)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, 9)
                self.popen.wait(5)
        self._out.close()


def http_get(port: int, path: str, timeout: float = 2.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def wait_ready(proc: Proc, port: int, path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise BenchError(f"{proc.name} exited with status {proc.popen.returncode} before answering "
                             f"GET {path}.\nCommand: {shlex.join(proc.argv)}\nLast lines of {proc.log}:\n"
                             f"{proc.tail()}")
        try:
            status, _ = http_get(port, path, timeout=1.0)
            if status == 200:
                return
            last = f"HTTP {status}"
        except OSError as e:
            last = str(e)
        time.sleep(0.05)
    raise BenchError(f"{proc.name} did not answer GET {path} with 200 within {timeout:.0f}s (last: {last}).\n"
                     f"Command: {shlex.join(proc.argv)}\nLast lines of {proc.log}:\n{proc.tail()}")


def start_stub(workdir: Path, chunks: int, cpus: set[int] | None) -> tuple[Proc, int]:
    port = free_port()
    argv = [sys.executable, "-m", "bench.stub_upstream", "--port", str(port), "--chunks", str(chunks),
            "--api-key", STUB_KEY]
    proc = Proc("stub upstream", argv, workdir / "stub.log", cpus=cpus)
    wait_ready(proc, port, "/v1/models", timeout=15)
    return proc, port


def proxy_command(config: Path) -> list[str]:
    script = Path(sys.executable).parent / "candor"
    base = [str(script)] if script.exists() else [sys.executable, "-m", "middleware.cli"]
    return [*base, "serve", "--config", str(config), "--workers", "1"]


def write_proxy_config(workdir: Path, stub_port: int, proxy_port: int) -> Path:
    # the repository's packs, copied so that the bench runs today's policies whatever the loader's
    # fallbacks, and a policy reload or test file in the tree cannot touch a running bench
    policies = workdir / "policies"
    if (REPO / "policies").is_dir():
        shutil.copytree(REPO / "policies", policies, dirs_exist_ok=True)
    policies.mkdir(exist_ok=True)
    config = {
        "server": {"host": "127.0.0.1", "port": proxy_port},
        "models": [{"name": PROXY_MODEL, "target": f"openai/{STUB_MODEL}",
                    "api_base": f"http://127.0.0.1:{stub_port}/v1", "api_key_env": "BENCH_UPSTREAM_KEY"}],
        "apps": [{"id": "bench", "key_env": "BENCH_APP_KEY"}],
        "policies_dir": str(policies),
        "audit": {"url": f"sqlite:///{workdir / 'audit.db'}"},
    }
    path = workdir / "candor.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def start_proxy(workdir: Path, stub_port: int, cpus: set[int] | None,
                argv: list[str] | None = None, timeout: float = 60) -> tuple[Proc, int, str]:
    """Start the proxy and wait for ``GET /healthz``; raises BenchError with its log tail if it fails."""
    port = free_port()
    config = write_proxy_config(workdir, stub_port, port)
    app_key = "bench-" + secrets.token_urlsafe(24)
    # CANDOR_* variables from the caller's shell would override the bench's config
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANDOR_")}
    env.update(BENCH_UPSTREAM_KEY=STUB_KEY, BENCH_APP_KEY=app_key, LITELLM_LOCAL_MODEL_COST_MAP="True",
               PYTHONPATH=os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p))
    try:
        proc = Proc("proxy", argv or proxy_command(config), workdir / "proxy.log", env=env, cpus=cpus,
                    cwd=workdir)
    except OSError as e:
        raise BenchError(f"proxy could not be started: {e}") from e
    try:
        wait_ready(proc, port, "/healthz", timeout=timeout)
    except BenchError:
        proc.stop()
        raise
    return proc, port, app_key


# --- RSS of the proxy worker -------------------------------------------------------------------------


def process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            # the command name may contain spaces and parentheses: the ppid follows the last ')'
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def rss_kib(pid: int) -> int | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def serving_pids(pids: list[int], port: int) -> list[int]:
    """Those of ``pids`` holding an established connection on local ``port``: the worker(s)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                f = line.split()
                if int(f[1].rsplit(":", 1)[1], 16) == port and f[3] == "01":
                    inodes.add(f[9])
    found = []
    for pid in pids:
        with contextlib.suppress(OSError):
            fds = Path(f"/proc/{pid}/fd")
            for fd in fds.iterdir():
                with contextlib.suppress(OSError):
                    link = os.readlink(fd)
                    if link.startswith("socket:[") and link[8:-1] in inodes:
                        found.append(pid)
                        break
    return found


@dataclass
class RssSampler:
    """Max RSS per process of the proxy's tree; the worker is the one serving connections under load."""

    root: int
    port: int
    peak_kib: dict[int, int] = field(default_factory=dict)
    worker: int | None = None
    idle_kib: int | None = None

    def sample(self) -> None:
        pids = process_tree(self.root)
        for pid in pids:
            kib = rss_kib(pid)
            if kib is not None:
                self.peak_kib[pid] = max(kib, self.peak_kib.get(pid, 0))
        if self.worker is None:
            serving = serving_pids(pids, self.port)
            if serving:
                self.worker = serving[0]

    def worker_peak_mb(self) -> float | None:
        pid = self.worker if self.worker is not None else max(self.peak_kib, key=self.peak_kib.__getitem__,
                                                              default=None)
        return self.peak_kib[pid] / 1024 if pid is not None else None


# --- measurements -------------------------------------------------------------------------------------


def loadgen(settings: Settings, sc: Scenario, port: int, key: str, model: str, workdir: Path,
            cpus: set[int] | None, during: Callable[[], None] | None = None) -> LoadResult:
    """Run one scenario in a load-generator process; ``during`` is called every 0.2 s while it runs."""
    argv = [sys.executable, "-m", "bench.loadgen", "--json", "--port", str(port), "--api-key", key,
            "--model", model, "--concurrency", str(sc.concurrency)]
    if sc.stream:
        argv.append("--stream")
    if sc.timed:
        argv += ["--duration", str(settings.duration), "--warmup-seconds", str(settings.warmup_seconds)]
    else:
        argv += ["--requests", str(settings.requests), "--warmup", str(settings.warmup)]
    for name, value in sc.headers:
        argv += ["--header", f"{name}: {value}"]
    out = workdir / f"loadgen-{sc.key}-{model}.json"
    proc = Proc("load generator", argv, out, cpus=cpus)
    while proc.popen.poll() is None:
        if during is not None:
            during()
        time.sleep(0.2)
    proc.stop()
    text = out.read_text(errors="replace")
    try:
        result = LoadResult.from_dict(json.loads(text.splitlines()[0]))
    except (IndexError, ValueError, TypeError) as e:
        raise BenchError(f"load generator failed ({sc.title}, {model}):\n{text[-3000:]}") from e
    if result.errors:
        raise BenchError(f"{sc.title} against {'the proxy' if model == PROXY_MODEL else 'the stub'}: "
                         f"{result.error_count} request(s) failed: {result.errors}\n"
                         f"first response body: {result.sample_body[:500]}")
    return result


def stub_requests(port: int) -> int:
    status, body = http_get(port, "/_stub/stats")
    return int(json.loads(body)["requests"]) if status == 200 else -1


def probe_policy(port: int, key: str) -> str:
    """What the policy did to one first-turn exchange: shows whether rules were really running."""
    body = json.dumps({"model": PROXY_MODEL, "user": f"bench-probe-{secrets.token_hex(4)}",
                       "messages": [{"role": "user", "content": "Hello, who am I talking to?"}]})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/v1/chat/completions", body,
                     {"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
        resp = conn.getresponse()
        raw = resp.read()
    finally:
        conn.close()
    try:
        comp = json.loads(raw)["compliance"]
        policy = comp.get("policy") or {}
        notices = [n.get("kind") for n in comp.get("notices") or []]
        label = comp.get("label")
    except (ValueError, KeyError, TypeError, AttributeError):
        return f"first-turn probe: HTTP {resp.status}, no readable `compliance` object: {raw[:300]!r}"
    text = (f"policy `{policy.get('id')}` version `{policy.get('version')}`; a first-turn reply carried notices "
            f"{notices or 'none'} and {'a label' if label else 'no label'}")
    if not notices and not label:
        text += " (WARNING: no notice or label on a first turn: the policy's rules may not be running)"
    return text


class Profiler:
    """``py-spy`` on the proxy during an extra, unreported run: the measured runs stay unperturbed."""

    def __init__(self, pid: int, out: Path, start_after: float, seconds: float) -> None:
        exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        if not Path(exe).exists():
            raise BenchError("--profile needs py-spy: .venv/bin/pip install py-spy")
        # --gil: only samples holding the GIL, i.e. Python work, not threads waiting on a queue or socket
        self.argv = [exe, "record", "-p", str(pid), "--subprocesses", "--gil", "--nonblocking", "-r", "100",
                     "-d", str(max(1, int(seconds))), "-f", "raw", "-o", str(out)]
        self.out, self.begin, self.start_after = out, time.monotonic(), start_after
        self.proc: subprocess.Popen[bytes] | None = None

    def tick(self) -> None:
        if self.proc is None and time.monotonic() - self.begin >= self.start_after:
            self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def summary(self, title: str) -> str:
        if self.proc is not None:
            self.proc.wait(60)
        by_pkg: dict[str, int] = {}
        by_fn: dict[str, int] = {}
        total = 0
        with contextlib.suppress(OSError):
            for line in self.out.read_text().splitlines():
                stack, _, count = line.rpartition(" ")
                if not stack or not count.isdigit():
                    continue
                # self time: the innermost frame, "function (path/file.py:line)"
                leaf = stack.rsplit(";", 1)[-1]
                fn, _, where = leaf.rpartition(" (")
                if not fn or leaf.startswith(("process ", "thread ")):
                    continue  # a process or thread marker without a Python frame
                path = where.rsplit(":", 1)[0]
                pkg = path.split("site-packages/")[-1].split("/")[0] if "/" in path else path
                n = int(count)
                total += n
                by_pkg[pkg] = by_pkg.get(pkg, 0) + n
                key = f"{fn} ({path.split('site-packages/')[-1]})"
                by_fn[key] = by_fn.get(key, 0) + n
        if not total:
            return f"### {title}\n\npy-spy recorded no samples."
        top = sorted(by_pkg.items(), key=lambda kv: -kv[1])[:10]
        fns = sorted(by_fn.items(), key=lambda kv: -kv[1])[:12]
        head = f"{total:,} samples holding the GIL; share by innermost frame (self time)."
        return "\n".join([f"### {title}", "", head, "",
                          "| Package or module | Self |", "|---|---|",
                          *(f"| `{k}` | {100 * v / total:.1f}% |" for k, v in top), "",
                          "| Function | Self |", "|---|---|",
                          *(f"| `{k}` | {100 * v / total:.1f}% |" for k, v in fns)])


def run(settings: Settings, log: Callable[[str], None] = print) -> BenchReport:
    proxy_cpus, other_cpus = cpu_split(settings.pin)
    report = BenchReport(settings=settings, proxy_cpus=proxy_cpus, other_cpus=other_cpus)
    with _workdir() as workdir:
        stub, stub_port = start_stub(workdir, settings.chunks, other_cpus)
        proxy: Proc | None = None
        try:
            log(f"stub upstream on port {stub_port}")
            sampler = None
            if not settings.direct_only:
                proxy, proxy_port, app_key = start_proxy(workdir, stub_port, proxy_cpus)
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
                before = stub_requests(stub_port)
                via = loadgen(settings, sc, proxy_port, app_key, PROXY_MODEL, workdir, other_cpus,
                              during=sampler.sample)
                report.upstream_calls[sc.key] = (stub_requests(stub_port) - before, via.requests)
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
        finally:
            if proxy is not None:
                proxy.stop()
            stub.stop()
    for name in settings.extras:
        extra = EXTRA_SECTIONS[name]
        argv = [sys.executable, str(REPO / extra.script), *(extra.quick_args if settings.quick else ())]
        log(f"{extra.title}: {shlex.join(argv)}")
        done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=1800)
        if done.returncode != 0:
            raise BenchError(f"{extra.script} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
        shown = shlex.join(["python", *argv[1:]]).replace(str(REPO) + os.sep, "")
        report.extra_sections.append(f"## {extra.title}\n\n`{shown}`\n\n{done.stdout.strip()}")
    return report


@contextlib.contextmanager
def _workdir() -> Iterator[Path]:
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
    for name in EXTRA_SECTIONS:
        ap.add_argument(f"--with-{name}", action="store_true", help=f"append: {EXTRA_SECTIONS[name].title}")
    args = ap.parse_args(argv)
    s = Settings(chunks=args.chunks, pin=not args.no_pin, direct_only=args.direct_only, quick=args.quick,
                 profile=args.profile,
                 command=shlex.join(["python", "-m", "bench", *(argv if argv is not None else sys.argv[1:])]))
    if args.quick:
        s.requests, s.warmup, s.duration, s.warmup_seconds = 200, 20, 1.0, 0.3
    s.requests = args.requests or s.requests
    s.warmup = args.warmup if args.warmup is not None else s.warmup
    s.duration = args.duration or s.duration
    if args.scenarios:
        wanted = [k.strip() for k in args.scenarios.split(",") if k.strip()]
        known = {sc.key: sc for sc in SCENARIOS}
        unknown = [k for k in wanted if k not in known]
        if unknown:
            ap.error(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(known)}")
        s.scenarios = [known[k] for k in wanted]
    s.extras = [name for name in EXTRA_SECTIONS if getattr(args, f"with_{name}")]
    return s, args


def main(argv: list[str] | None = None) -> int:
    settings, args = parse_args(argv)
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
    return 2 if args.strict and not report.all_pass() else 0
