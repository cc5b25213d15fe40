"""``python -m bench.versions REV [REV ...]``: the short scenarios against several commits, side by side.

Each commit is exported from this repository's git history (``git archive``) to a temporary tree and
served by its own ``candor`` entry point and its own policy packs, with this checkout's harness: the same
stub upstream, the same load generator and the same message variety (``bench/variety.py``). The commits
take turns, in alternating order from round to round, so drift of the machine falls on each alike; every
figure is the median over the rounds. ``--write`` keeps the Markdown in ``bench/VERSIONS.md``, which every
``python -m bench`` report carries (issue 10 asks for "before and after" in ``bench/RESULTS.md``), and
puts it into the current ``bench/RESULTS.md`` at once.

A commit may carry a patch from ``bench/patches``: ``REV+bench/patches/NAME.patch`` measures ``REV`` with that
patch applied (``git apply``), so a later fix of one part can be measured on its own, without everything
else that landed in between; the patch file shows exactly what differs.

The dependencies are this environment's: an old commit runs against today's libraries.
"""

from __future__ import annotations

import argparse
import io
import shlex
import statistics
import subprocess
import sys
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.loadgen import LoadResult
from bench.procs import BenchError, cpu_split
from bench.report import VERSIONS, splice_section
from bench.run import scratch_dir
from bench.servers import loadgen, probe_policy, start_proxy, start_stub
from bench.settings import (
    PROXY_MODEL,
    REPO,
    RESULTS,
    SCENARIOS,
    STUB_KEY,
    STUB_MODEL,
    Scenario,
    Settings,
    pick_scenarios,
)

TITLE = "Before and after, commit by commit"


@dataclass
class Version:
    rev: str          # as given
    commit: str       # abbreviated hash
    subject: str
    source: Path
    policy: str = ""  # what the first-turn probe saw
    runs: dict[str, list[LoadResult]] = field(default_factory=dict)


def _git(*args: str, cwd: Path = REPO) -> bytes:
    done = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True)
    if done.returncode != 0:
        raise BenchError(f"git {shlex.join(args)}: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def export(rev: str, dest: Path) -> Version:
    """The tree of ``rev`` (``COMMIT`` or ``COMMIT+PATCH``) in ``dest``."""
    commit_rev, _, patch = rev.partition("+")
    commit, subject = _git("log", "-1", "--format=%h%x00%s", commit_rev).decode().strip().split("\0", 1)
    dest.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(_git("archive", "--format=tar", commit)), mode="r:") as tar:
        tar.extractall(dest, filter="data")
    if patch:
        path = (REPO / patch).resolve()
        if not path.is_file():
            raise BenchError(f"{rev}: no patch file {patch}")
        _git("apply", str(path), cwd=dest)
        commit, subject = f"{commit}+{path.stem}", f"{subject} + {path.name}"
    if (dest / "hatch_build.py").is_file():
        # a commit with the featuriser's C speed-up: built in its tree, as its install would (git archive has no
        # build products); where that fails (no compiler, or a hook that cannot run as a script) the commit is
        # measured with the numpy featuriser, and its row says so
        done = subprocess.run([sys.executable, "hatch_build.py"], cwd=dest, capture_output=True, text=True)
        if done.returncode != 0:
            subject += " [featuriser not compiled: numpy]"
    return Version(rev, commit, subject, dest)


def measure(settings: Settings, revs: list[str], rounds: int, log: Callable[[str], None]
            ) -> tuple[list[Version], dict[str, list[LoadResult]]]:
    proxy_cpus, other_cpus = cpu_split(settings.pin)
    direct: dict[str, list[LoadResult]] = {sc.key: [] for sc in settings.scenarios}
    with scratch_dir() as workdir:
        versions = [export(rev, workdir / f"tree-{i}") for i, rev in enumerate(revs)]
        stub, stub_port = start_stub(workdir, settings.chunks, other_cpus)
        try:
            for n in range(rounds):
                order = versions if n % 2 == 0 else versions[::-1]
                log(f"round {n + 1} of {rounds}")
                for sc in settings.scenarios:
                    direct[sc.key].append(loadgen(settings, sc, stub_port, STUB_KEY, STUB_MODEL, workdir,
                                                  other_cpus))
                for v in order:
                    run_dir = workdir / f"run-{v.commit}-{n}"
                    run_dir.mkdir()
                    proxy, port, key = start_proxy(run_dir, stub_port, proxy_cpus, source=v.source)
                    try:
                        v.policy = probe_policy(port, key)
                        for sc in settings.scenarios:
                            res = loadgen(settings, sc, port, key, PROXY_MODEL, run_dir, other_cpus)
                            v.runs.setdefault(sc.key, []).append(res)
                            log(f"  {v.commit}  {res.summary()}")
                    finally:
                        proxy.stop()
        finally:
            stub.stop()
    return versions, direct


def _median(results: list[LoadResult], pick: Callable[[LoadResult], float | None]) -> float | None:
    values = [v for v in (pick(r) for r in results) if v is not None]
    return statistics.median(values) if values else None


METRICS: list[tuple[str, Callable[[Scenario], bool], Callable[[LoadResult], float | None], str]] = [
    ("latency p50", lambda sc: not sc.stream, lambda r: r.latency_ms.p50 if r.latency_ms else None, "ms"),
    ("latency p99", lambda sc: not sc.stream, lambda r: r.latency_ms.p99 if r.latency_ms else None, "ms"),
    ("TTFT p50", lambda sc: sc.stream, lambda r: r.ttft_ms.p50 if r.ttft_ms else None, "ms"),
    ("TTFT p99", lambda sc: sc.stream, lambda r: r.ttft_ms.p99 if r.ttft_ms else None, "ms"),
    ("throughput", lambda sc: sc.timed, lambda r: r.throughput, "req/s"),
]


def _cell(m: float | None, direct: float | None, base: float | None, unit: str) -> str:
    """One commit's figure; with ``base`` (the first commit's), its change against it."""
    if m is None:
        return "-"
    if unit != "ms":
        text = f"{m:,.0f} req/s"
        return text if not base else f"{text} ({m / base - 1:+.0%})"
    added = m - (direct or 0.0)
    text = f"{m:.3f} ms (+{added:.3f})"
    if base is None or base - (direct or 0.0) <= 0:
        return text
    return f"{text}, {added / (base - (direct or 0.0)) - 1:+.0%} added"


def render(settings: Settings, versions: list[Version], direct: dict[str, list[LoadResult]], rounds: int,
           command: str) -> str:
    first = versions[0]
    lines = [f"## {TITLE}", "", f"`{command}`", "",
             f"The short scenarios against {len(versions)} commits, each served from its own tree by its own "
             f"entry point and policy packs, with this checkout's stub, load generator and message variety; "
             f"{rounds} rounds, the commits in alternating order; each figure is the median over the rounds. "
             "Latency cells: the proxy's figure (added = proxy - direct, the stub called straight in the same "
             "rounds); from the second commit on, the change of the added latency, or of the throughput, "
             f"against `{first.commit}` (for latency, negative is better).", ""]
    for v in versions:
        lines.append(f"- `{v.commit}` ({v.rev}): {v.subject}. First turn: {v.policy}")
    head = "| Scenario | Metric | Direct | " + " | ".join(f"`{v.commit}`" for v in versions) + " |"
    lines += ["", head, "|" + "---|" * (3 + len(versions))]
    for sc in settings.scenarios:
        for name, applies, pick, unit in METRICS:
            if not applies(sc) or (name != "throughput" and sc.timed):
                continue
            d = _median(direct[sc.key], pick)
            values = [_median(v.runs.get(sc.key, []), pick) for v in versions]
            cells = [_cell(m, d, values[0] if i else None, unit) for i, m in enumerate(values)]
            dcell = "-" if d is None else (f"{d:.3f} ms" if unit == "ms" else f"{d:,.0f} req/s")
            lines.append(f"| {sc.title} | {name} | {dcell} | " + " | ".join(cells) + " |")
    lines += ["", f"Load: latency scenarios {settings.requests:,} requests "
              f"after {settings.warmup} warm-up; throughput {settings.duration:g} s after "
              f"{settings.warmup_seconds:g} s warm-up; one worker, audit in SQLite, the app's default policy."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.versions", description=__doc__.split("\n\n")[0])
    ap.add_argument("revs", nargs="+", help="commits (anything `git log` takes), oldest first")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="a short run to check the harness works")
    ap.add_argument("--scenarios", help=f"comma-separated subset of: {', '.join(s.key for s in SCENARIOS)}")
    ap.add_argument("--write", action="store_true",
                    help="keep the table in bench/VERSIONS.md and put it into bench/RESULTS.md")
    args = ap.parse_args(argv)
    settings = Settings()
    if args.quick:
        settings.shorten()
    if args.scenarios:
        try:
            settings.scenarios = pick_scenarios(args.scenarios)
        except ValueError as e:
            ap.error(str(e))
    command = shlex.join(["python", "-m", "bench.versions", *(argv if argv is not None else sys.argv[1:])])
    try:
        versions, direct = measure(settings, args.revs, args.rounds,
                                   log=lambda m: print(m, file=sys.stderr, flush=True))
    except BenchError as e:
        print(f"bench failed: {e}", file=sys.stderr)
        return 1
    text = render(settings, versions, direct, args.rounds, command)
    print(text)
    if args.write:
        VERSIONS.write_text(text)
        if RESULTS.exists():
            RESULTS.write_text(splice_section(RESULTS.read_text(), TITLE, text))
        print(f"wrote {VERSIONS.relative_to(REPO)} and {RESULTS.relative_to(REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
