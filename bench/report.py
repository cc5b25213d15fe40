"""The report of a run: the performance budget's targets, and the Markdown written to bench/RESULTS.md."""

from __future__ import annotations

import contextlib
import datetime
import os
import platform
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from bench.floor import FloorPhase
from bench.loadgen import LoadResult, Stats
from bench.phases import LiteLLMPhase, LongStreamsPhase, StatePhase, WorkersPhase, long_ramp
from bench.settings import REPO, Scenario, Settings

ANALYSIS = REPO / "bench" / "ANALYSIS.md"
VERSIONS = REPO / "bench" / "VERSIONS.md"   # written by ``python -m bench.versions --write``


@dataclass(frozen=True)
class Target:
    name: str
    goal: str
    limit: float
    higher_is_better: bool


# issue 18 ("Performance: top of the gateway board"); the architecture's older budget (1 ms / 5 ms /
# 1,000 req/s) is inside these
TARGETS = {
    "added_p50": Target("Added latency p50, non-streaming, 1 in flight", "<= 0.6 ms", 0.6, False),
    "added_p99": Target("Added latency p99, non-streaming, 1 in flight", "<= 1.0 ms", 1.0, False),
    "added_ttft_p50": Target("Added TTFT p50, streaming, 1 in flight", "<= 0.6 ms", 0.6, False),
    "added_ttft_p99": Target("Added TTFT p99, streaming, 1 in flight", "<= 1.0 ms", 1.0, False),
    "rps": Target("Throughput, non-streaming, 16 in flight, one worker", ">= 2,500 req/s", 2500.0, True),
    "rps_stream": Target("Throughput, streaming, 16 in flight, one worker", ">= 2,000 req/s", 2000.0, True),
    "rss": Target("Worker RSS, max under the short scenarios", "<= 200 MB", 200.0, False),
    "long_complete": Target("Long streams complete, none stalled, one worker", ">= 1,000 streams", 1000.0, True),
    "long_gap": Target("Long streams: added inter-chunk delay p99", "<= 5 ms", 5.0, False),
    "long_rss": Target("Long streams: worker RSS max", "<= 300 MB", 300.0, False),
    "litellm_rps": Target("Throughput vs the LiteLLM proxy, non-streaming, 16 in flight", ">= 25x", 25.0, True),
    "litellm_lat": Target("Added latency p50 vs the LiteLLM proxy's, non-streaming, 1 in flight", "<= 0.1x",
                          0.1, False),
}


@dataclass
class BenchReport:
    settings: Settings
    proxy_cpus: set[int] | None
    other_cpus: set[int] | None
    direct: dict[str, LoadResult] = field(default_factory=dict)
    proxy: dict[str, LoadResult] = field(default_factory=dict)
    upstream_calls: dict[str, tuple[int, int]] = field(default_factory=dict)  # (stub saw, proxy answered)
    proxy_cpu_us: dict[str, float | None] = field(default_factory=dict)  # the proxy's CPU per request
    rss_idle_mb: float | None = None
    rss_peak_mb: float | None = None
    rss_pid_note: str = ""
    extra_sections: list[str] = field(default_factory=list)
    extra_failures: list[str] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)
    policy_probe: str = ""
    long: LongStreamsPhase = field(default_factory=LongStreamsPhase)
    floor: FloorPhase | None = None
    litellm: LiteLLMPhase | None = None
    workers: WorkersPhase | None = None
    state: StatePhase | None = None
    # other work on the machine shows up as proxy latency: record how busy it was before the run
    load_before: str = field(default_factory=lambda: load_average())
    finished: str = field(
        default_factory=lambda: datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"))
    # the code measured: taken when the run starts (a commit made while it runs is not what it measured)
    commit: str = field(default_factory=lambda: machine()["Candor commit"])

    def added_by(self, result: LoadResult | None, key: str, which: str, q: str) -> float | None:
        """``result``'s figure minus the stub's, called directly, in scenario ``key`` at the same percentile."""
        return _minus(_stat(result, which, q), _stat(self.direct.get(key), which, q))

    def _added(self, key: str, which: str, q: str) -> float | None:
        return self.added_by(self.proxy.get(key), key, which, q)

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
            "long_complete": self._long_complete(),
            "long_gap": self.long.added_gap_p99,
            "long_rss": self.long.rss_peak_mb,
            "litellm_rps": self._litellm_ratio("nonstream_c16"),
            "litellm_lat": self._litellm_ratio("nonstream_c1"),
        }

    def _long_complete(self) -> float | None:
        p = self.long.proxy
        return None if p is None else float(p.smooth)

    def litellm_added(self, key: str, which: str, q: str) -> float | None:
        return self.added_by(self.litellm.results.get(key) if self.litellm else None, key, which, q)

    def _litellm_ratio(self, key: str) -> float | None:
        """c16: Candor's throughput / LiteLLM's; c1: Candor's added p50 / LiteLLM's added p50."""
        lr = self.litellm.results.get(key) if self.litellm else None
        p = self.proxy.get(key)
        if lr is None or p is None:
            return None
        if key == "nonstream_c16":
            return p.throughput / lr.throughput if lr.throughput else None
        ours, theirs = self._added(key, "latency_ms", "p50"), self.litellm_added(key, "latency_ms", "p50")
        return ours / theirs if ours is not None and theirs else None

    def verdicts(self) -> list[tuple[Target, float | None, str]]:
        out = []
        for key, value in self.measured().items():
            t = TARGETS[key]
            ok = value is not None and (value >= t.limit if t.higher_is_better else value <= t.limit)
            out.append((t, value, "n/a" if value is None else "PASS" if ok else "MISS"))
        return out

    def all_pass(self) -> bool:
        """No budget target missed, and no MISS in an extra section's target table."""
        return all(v != "MISS" for _, _, v in self.verdicts()) and not any(
            "| MISS |" in section for section in self.extra_sections)


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
    from middleware.detectors.features import ACCELERATED
    from middleware.detectors.textnorm import COMPILED_FOLD

    return {"CPU": cpu, "Cores": str(os.cpu_count()), "Python": platform.python_version(),
            "OS": f"{platform.system()} {platform.release()}", "Candor commit": commit,
            "Featuriser": "compiled (middleware/detectors/_features.c)" if ACCELERATED else "numpy (not compiled)",
            "Character folding": "compiled (middleware/detectors/_fold.c)" if COMPILED_FOLD else
            "str.translate (not compiled)"}


def load_average() -> str:
    with contextlib.suppress(OSError):
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return "unknown"


def _shown(t: Target, value: float | None) -> str:
    if value is None:
        return "-"
    if t.goal.endswith("x"):
        return f"{value:.3g}x"
    unit = (" req/s" if "req/s" in t.goal else " MB" if "MB" in t.goal else " streams" if "streams" in t.goal
            else " ms")
    return f"{value:.3f} ms" if unit == " ms" else f"{value:,.0f}{unit}"


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
            dv, pv = _stat(d, which, q), _stat(p, which, q)
            added = f"+{pv - dv:.3f} ms" if dv is not None and pv is not None else "-"
            rows.append((f"{label} {q}", _ms(dv), _ms(pv), added.replace("+-", "-")))
    return rows


def render_markdown(r: BenchReport) -> str:
    s = r.settings
    pin = (f"proxy pinned to CPU {sorted(r.proxy_cpus)}, stub and load generator to CPU "
           f"{sorted(r.other_cpus or [])}" if r.proxy_cpus else "no CPU pinning")
    lines = ["# Candor benchmark results", "",
             "Regenerate with `python -m bench` (under ten minutes on a quiet machine; `--quick` for a smoke run; "
             "`--profile` adds py-spy profiles); this file is rewritten by each run.", "",
             "| | |", "|---|---|"]
    lines += [f"| {k} | {r.commit if k == 'Candor commit' else v} |" for k, v in machine().items()]
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
            lines.append(f"| {t.name} | {t.goal} | {_shown(t, value)} | {verdict} |")
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
    lines += _floor_section(r) + _long_section(r) + _litellm_section(r) + _workers_section(r) + _state_section(r)
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
    # the analysis written by hand after a run (goals met or missed, with causes; before/after of each
    # change): kept across reruns, under a heading that says which run it read
    if ANALYSIS.exists():
        lines += ["", ANALYSIS.read_text().rstrip()]
    # commits measured side by side (``python -m bench.versions``): also kept across reruns
    if VERSIONS.exists():
        lines += ["", VERSIONS.read_text().rstrip()]
    return "\n".join(lines) + "\n"


def splice_section(text: str, title: str, section: str) -> str:
    """``text`` with its ``## title`` section (to the next ``## `` heading) replaced by ``section``, or with
    ``section`` appended when it has none."""
    lines = text.rstrip("\n").split("\n")
    head = f"## {title}"
    if head not in lines:
        return "\n".join([*lines, "", section.rstrip("\n")]) + "\n"
    start = lines.index(head)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    tail = ["", *lines[end:]] if end < len(lines) else []
    return "\n".join([*lines[:start], section.rstrip("\n"), *tail]) + "\n"



def _f(v: float | None, fmt: str = "{:.1f} ms") -> str:
    return "-" if v is None else fmt.format(v)


def _throughputs(*results: LoadResult | None) -> str:
    """The throughput cells of a side-by-side row, one per result ("-" where it was not measured)."""
    return " | ".join(_f(x.throughput if x else None, "{:,.0f}/s") for x in results)


def _timing(sc: Scenario) -> tuple[str, str]:
    """(the load result's field, the metric's name) a scenario's latency rows report: first token when streaming."""
    return ("ttft_ms", "TTFT") if sc.stream else ("latency_ms", "latency")


def _floor_section(r: BenchReport) -> list[str]:
    f = r.floor
    if f is None:
        return []
    out = ["", "## The transport floor: the same stack with no rule", ""]
    if f.skipped:
        return [*out, f"Not measured: {f.skipped}."]
    out += ["`bench/bare_relay.py` relays each request to the same stub on Candor's server and client stack "
            "(uvicorn with uvloop and httptools, one pooled aiohttp session, as `candor serve` runs them) and does "
            "nothing else: no parsing, no rule, no audit. Pinned like Candor, the same load. Candor's own = Candor "
            "added - floor added: what its rules, detectors and audit log cost. CPU per request = the process's "
            "user and system time over the run, divided by the requests the stub answered meanwhile.", "",
            "| Scenario | Metric | Direct | Floor | Candor | Floor added | Candor added | Candor's own |",
            "|---|---|---:|---:|---:|---:|---:|---:|"]
    for sc in r.settings.scenarios:
        d, p, m = r.direct.get(sc.key), r.proxy.get(sc.key), f.results.get(sc.key)
        fl = m.result if m else None
        if sc.timed:
            out.append(f"| {sc.title} | throughput | {_throughputs(d, fl, p)} | | | |")
        which, metric = _timing(sc)
        for q in ("p50", "p99"):
            dv, fv, pv = (_stat(x, which, q) for x in (d, fl, p))
            fa, pa = r.added_by(fl, sc.key, which, q), r.added_by(p, sc.key, which, q)
            own = _minus(pa, fa)
            out.append(f"| {sc.title} | {metric} {q} | {_f(dv, '{:.3f} ms')} | "
                       f"{_f(fv, '{:.3f} ms')} | {_f(pv, '{:.3f} ms')} | {_f(fa, '{:+.3f} ms')} | "
                       f"{_f(pa, '{:+.3f} ms')} | {_f(own, '{:+.3f} ms')} |")
        fc, pc = (m.cpu_us_per_request if m else None), r.proxy_cpu_us.get(sc.key)
        out.append(f"| {sc.title} | proxy CPU per request | | {_f(fc, '{:,.0f} µs')} | {_f(pc, '{:,.0f} µs')} | | | "
                   f"{_f(_minus(pc, fc), '{:+,.0f} µs')} |")
    out += _floor_budget(r)
    return out


def _stat(result: LoadResult | None, which: str, q: str) -> float | None:
    """A percentile of one load result's latency or TTFT (``which``), None where it was not measured."""
    stats: Stats | None = getattr(result, which) if result else None
    return getattr(stats, q) if stats else None


def _minus(a: float | None, b: float | None) -> float | None:
    return a - b if a is not None and b is not None else None


def _floor_budget(r: BenchReport) -> list[str]:
    """What the goals leave for Candor's own work once the floor is paid, beside what it took in this run."""
    f = r.floor
    m = f.results.get("nonstream_c16") if f else None
    floor_cpu, ours = (m.cpu_us_per_request if m else None), r.proxy_cpu_us.get("nonstream_c16")
    lines = []
    if floor_cpu is not None and ours is not None:
        budget = 1e6 / TARGETS["rps"].limit
        lines.append(f"- Throughput goal ({TARGETS['rps'].goal}): one worker has {budget:,.0f} µs of CPU per "
                     f"request; the floor took {floor_cpu:,.0f} µs, which leaves {budget - floor_cpu:,.0f} µs "
                     f"for Candor's own work. It took {ours - floor_cpu:,.0f} µs in this run.")
    fl = f.results.get("nonstream_c1") if f else None
    fa = r.added_by(fl.result if fl else None, "nonstream_c1", "latency_ms", "p50")
    pa = r._added("nonstream_c1", "latency_ms", "p50")
    if fa is not None and pa is not None:
        goal = TARGETS["added_p50"].limit
        lines.append(f"- Added latency goal ({TARGETS['added_p50'].goal} at p50): the floor adds "
                     f"{fa:.3f} ms, which leaves {goal - fa:.3f} ms for Candor's own work. It took "
                     f"{pa - fa:.3f} ms in this run.")
    return ["", *lines] if lines else []


def _long_section(r: BenchReport) -> list[str]:
    d, p = r.long.direct, r.long.proxy
    if d is None and p is None:
        return []
    s = r.settings
    ramp = s.long_ramp if s.long_ramp is not None else long_ramp(s)
    out = ["", "## Long streams", "",
           f"{s.long_streams:,} streamed requests on one worker (`python -m bench.longstreams`), their starts "
           f"spread evenly over {ramp:g} s (half a stream's length), so that all {s.long_streams:,} are open at "
           f"once for the other half; the upstream (`bench.stub_upstream --sentences`) sends a content chunk "
           f"every {s.long_interval:g} s, {s.long_chunks} chunks each, each chunk a whole sentence (the guards "
           "release text by sentence: with chunks that end mid-sentence the gaps would measure where the model "
           "ends its sentences, not the proxy). A gap is the time between two successive "
           "content events of one stream, from its second on (through the proxy the first is its opening with "
           "the notices, sent with the provider's first chunk); a stream stalls when a gap exceeds "
           f"{2 * s.long_interval:g} s or it does not end with `data: [DONE]`. Added = proxy - direct at the "
           "same percentile. Through the proxy each sentence goes out with the delta after it (the guards check "
           "it whole): every sentence one interval later than direct, the gaps between them unchanged.", "",
           "| Measure | Direct | Proxy | Added |", "|---|---:|---:|---:|"]

    def row(name: str, dv: str, pv: str, added: str = "") -> None:
        out.append(f"| {name} | {dv} | {pv} | {added} |")

    row("streams complete", f"{d.completed:,} of {d.streams:,}" if d else "-",
        f"{p.completed:,} of {p.streams:,}" if p else "-")
    row("streams stalled or lost", f"{d.stalled:,}" if d else "-", f"{p.stalled:,}" if p else "-")
    for q in ("p50", "p99", "max"):
        dv = getattr(d.gaps_ms, q) if d and d.gaps_ms else None
        pv = getattr(p.gaps_ms, q) if p and p.gaps_ms else None
        row(f"inter-chunk gap {q}", _f(dv), _f(pv), _f(pv - dv if dv is not None and pv is not None else None,
                                                        "{:+.1f} ms"))
    row("time to first token p50", _f(d.ttft_ms.p50 if d and d.ttft_ms else None),
        _f(p.ttft_ms.p50 if p and p.ttft_ms else None))
    row("content events per stream, median", _f(d.chunks_per_stream.p50 if d and d.chunks_per_stream else None,
                                                "{:.0f}"),
        _f(p.chunks_per_stream.p50 if p and p.chunks_per_stream else None, "{:.0f}"))
    row("wall time, first start to last end", _f(d.wall_s if d else None, "{:.1f} s"),
        _f(p.wall_s if p else None, "{:.1f} s"))
    if r.long.rss_peak_mb is not None:
        row("proxy worker RSS (before, max)", "", f"{r.long.rss_before_mb or 0:.0f} MB, {r.long.rss_peak_mb:.0f} MB")
    errs = {**(d.errors if d else {}), **{f"proxy: {k}": v for k, v in (p.errors if p else {}).items()}}
    if errs:
        out += ["", f"Failures: {errs}"]
    return out


def _litellm_section(r: BenchReport) -> list[str]:
    if r.litellm is None:
        return []
    out = ["", "## Side by side: direct, Candor, LiteLLM proxy", ""]
    if r.litellm.skipped:
        return [*out, f"LiteLLM proxy not measured: {r.litellm.skipped}."]
    out += [f"The LiteLLM proxy {r.litellm.version} (`litellm --config ... --num_workers 1`, its own venv "
            "`bench/.litellm-venv`, no database, a master key), pinned like Candor, against the same stub "
            f"with the same load (its latency runs: {r.litellm.requests:,} requests); Candor with every rule of "
            "its default policy on and the audit log in SQLite, LiteLLM with none.", "",
            "| Scenario | Metric | Direct | Candor | LiteLLM | Candor added | LiteLLM added |",
            "|---|---|---:|---:|---:|---:|---:|"]
    for sc in r.settings.scenarios:
        d, p, lr = r.direct.get(sc.key), r.proxy.get(sc.key), r.litellm.results.get(sc.key)
        if sc.timed:
            out.append(f"| {sc.title} | throughput | {_throughputs(d, p, lr)} | | |")
        which, metric = _timing(sc)
        for q in ("p50", "p99"):
            dv, pv, lv = (_stat(x, which, q) for x in (d, p, lr))
            out.append(f"| {sc.title} | {metric} {q} | {_f(dv, '{:.3f} ms')} | {_f(pv, '{:.3f} ms')} | "
                       f"{_f(lv, '{:.3f} ms')} | {_f(r._added(sc.key, which, q), '{:.3f} ms')} | "
                       f"{_f(r.litellm_added(sc.key, which, q), '{:.3f} ms')} |")
    return out


def _workers_section(r: BenchReport) -> list[str]:
    w = r.workers
    if w is None or not w.results:
        return []
    order = [sc.key for sc in r.settings.scenarios]
    keys = sorted({k for _, k in w.results}, key=order.index)
    titles = {sc.key: sc.title for sc in r.settings.scenarios}
    out = ["", "## Several workers", "",
           "`candor serve --workers N`, nothing pinned (the proxy's workers, the stub and the load generator "
           "share the machine's CPUs), same load. Two workers run twice: each with its own session state in "
           "memory (what the second process adds by itself; not a valid deployment, a user's clocks would "
           "be per worker) and with the state in a Redis of the bench's own (what several workers need). "
           "With several workers `prometheus_client` also runs in its multiprocess mode (files per process).",
           "", "| Scenario | 1 worker | 2 workers, memory state | 2 workers, Redis state | Scaling (memory) |",
           "|---|---:|---:|---:|---:|"]
    if w.skipped:
        out = [*out[:-3], f"({w.skipped})", *out[-3:]]
    for k in keys:
        one, two, two_r = w.results.get(("1", k)), w.results.get(("2", k)), w.results.get(("2r", k))
        scale = f"{two.throughput / one.throughput:.2f}x" if one and two and one.throughput else "-"
        out.append(f"| {titles[k]}: throughput | {_throughputs(one, two, two_r)} | {scale} |")
        for q in ("p50", "p99"):
            vals = [_f(_stat(x, "latency_ms", q), "{:.3f} ms") for x in (one, two, two_r)]
            out.append(f"| {titles[k]}: latency {q} | {' | '.join(vals)} | |")
    return out


def _state_section(r: BenchReport) -> list[str]:
    st = r.state
    if st is None:
        return []
    out = ["", "## Shared state: Redis and PostgreSQL", ""]
    if st.skipped:
        out += [f"- skipped: {why}" for why in st.skipped] + [""]
    if not st.runs:
        return out
    out += ["One worker, pinned as above, the same non-streaming load. Session state (`state.url`) in a Redis "
            "of the bench's own, then also the audit log (`audit.url`) in a PostgreSQL database of its own: "
            "the round trips are counted on the servers (Redis `total_commands_processed`, PostgreSQL "
            "`xact_commit + xact_rollback` of the database) and divided by the requests the stub answered. "
            "Baseline: the short scenarios above (memory state, SQLite audit).", "",
            "| Setup | Scenario | Latency p50 | Latency p99 | Throughput | Added p50 vs baseline | "
            "Redis commands / request | PostgreSQL transactions / request |",
            "|---|---|---:|---:|---:|---:|---:|---:|"]
    titles = {sc.key: sc.title for sc in r.settings.scenarios}
    for key in ("nonstream_c1", "nonstream_c16"):
        base = r.proxy.get(key)
        if base and base.latency_ms:
            out.append(f"| memory state, SQLite audit | {titles.get(key, key)} | {base.latency_ms.p50:.3f} ms | "
                       f"{base.latency_ms.p99:.3f} ms | {base.throughput:,.0f}/s | | 0 | 0 |")
    for run in st.runs:
        for key, res in run.results.items():
            base = r.proxy.get(key)
            lat = res.latency_ms
            delta = (f"{lat.p50 - base.latency_ms.p50:+.3f} ms" if lat and base and base.latency_ms else "-")
            pg = f"{run.pg_per_request[key]:.2f}" if key in run.pg_per_request else "-"
            out.append(f"| {run.name} | {titles.get(key, key)} | {_f(lat.p50 if lat else None, '{:.3f} ms')} | "
                       f"{_f(lat.p99 if lat else None, '{:.3f} ms')} | {res.throughput:,.0f}/s | {delta} | "
                       f"{run.redis_per_request.get(key, 0):.2f} | {pg} |")
    return out
