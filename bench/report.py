"""The report of a run: the performance budget's targets, and the Markdown written to bench/RESULTS.md."""

from __future__ import annotations

import contextlib
import datetime
import os
import platform
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from bench.loadgen import LoadResult, Stats
from bench.settings import REPO, Scenario, Settings


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
    extra_failures: list[str] = field(default_factory=list)
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
             "Regenerate with `python -m bench` (about four minutes; `--profile` adds one); this file is rewritten "
             "by each run.", "",
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

