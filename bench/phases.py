"""The bench's phases after the short scenarios (issue 18): many long streams at once, the LiteLLM proxy
side by side, several workers, and the cost of shared state in Redis and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench.loadgen import LoadResult
from bench.longstreams import LongStreamsResult
from bench.procs import BenchError, Proc, RssSampler, free_port, wait_ready
from bench.servers import loadgen, run_to_end, start_proxy, stub_requests
from bench.settings import PROXY_MODEL, REPO, STUB_KEY, STUB_MODEL, Settings

LONG_MODEL = "bench-long"
LITELLM_VENV = REPO / "bench" / ".litellm-venv"
LITELLM_KEY = "sk-litellm-bench"


# --- long streams ------------------------------------------------------------------------------------

def start_long_stub(workdir: Path, settings: Settings, cpus: set[int] | None) -> tuple[Proc, int]:
    port = free_port()
    argv = [sys.executable, "-m", "bench.stub_upstream", "--port", str(port), "--chunks",
            str(settings.long_chunks), "--chunk-delay", str(settings.long_interval), "--api-key", STUB_KEY,
            "--sentences"]
    proc = Proc("long-stream stub upstream", argv, workdir / "stub-long.log", cpus=cpus)
    wait_ready(proc, port, "/v1/models", timeout=15)
    return proc, port


def long_streams(settings: Settings, port: int, key: str, model: str, workdir: Path, cpus: set[int] | None,
                 during: Callable[[], None] | None = None) -> LongStreamsResult:
    argv = [sys.executable, "-m", "bench.longstreams", "--json", "--port", str(port), "--api-key", key,
            "--model", model, "--streams", str(settings.long_streams), "--interval", str(settings.long_interval),
            "--timeout", str(max(60.0, settings.long_chunks * settings.long_interval * 4)),
            "--ramp", str(settings.long_ramp if settings.long_ramp is not None else long_ramp(settings))]
    out = workdir / f"longstreams-{model}.json"
    text = run_to_end("long streams", argv, out, cpus, during)
    try:
        return LongStreamsResult.from_dict(json.loads(text.splitlines()[0]))
    except (IndexError, ValueError, TypeError) as e:
        raise BenchError(f"long-streams client failed ({model}):\n{text[-3000:]}") from e


def long_ramp(settings: Settings) -> float:
    """Starts spread over half a stream's length: every stream is open at once from the end of the ramp
    until the first one ends (half a stream's length), and streams start at the rate that keeps that many
    open in a steady state (Little's law: N open = rate x length) times two."""
    return settings.long_chunks * settings.long_interval / 2


@dataclass
class LongStreamsPhase:
    direct: LongStreamsResult | None = None
    proxy: LongStreamsResult | None = None
    rss_before_mb: float | None = None
    rss_peak_mb: float | None = None

    @property
    def added_gap_p99(self) -> float | None:
        if self.direct and self.proxy and self.direct.gaps_ms and self.proxy.gaps_ms:
            return self.proxy.gaps_ms.p99 - self.direct.gaps_ms.p99
        return None


def run_long_streams(settings: Settings, long_port: int, proxy_pid: int, proxy_port: int, app_key: str,
                     workdir: Path, cpus: set[int] | None, log: Callable[[str], None]) -> LongStreamsPhase:
    phase = LongStreamsPhase()
    phase.direct = long_streams(settings, long_port, STUB_KEY, STUB_MODEL, workdir, cpus)
    log(f"  long streams direct  {phase.direct.summary()}")
    sampler = RssSampler(proxy_pid, proxy_port)
    sampler.sample()
    phase.rss_before_mb = sampler.worker_peak_mb()
    phase.proxy = long_streams(settings, proxy_port, app_key, LONG_MODEL, workdir, cpus, during=sampler.sample)
    phase.rss_peak_mb = sampler.worker_peak_mb()
    log(f"  long streams proxy   {phase.proxy.summary()}; worker RSS max {phase.rss_peak_mb or 0:.0f} MB")
    return phase


# --- the LiteLLM proxy, side by side -------------------------------------------------------------------

def ensure_litellm(log: Callable[[str], None], install: bool = True) -> tuple[Path | None, str]:
    """(the ``litellm`` command of the bench's own venv, "") or (None, why it is not available). The venv
    (``bench/.litellm-venv``) is made on first use with ``pip install 'litellm[proxy]'`` from the configured
    package index, apart from Candor's environment."""
    exe = LITELLM_VENV / "bin" / "litellm"
    python = LITELLM_VENV / "bin" / "python"
    if exe.exists() and python.exists():
        probe = subprocess.run([str(python), "-c", "import litellm.proxy.proxy_server"], capture_output=True,
                               text=True, timeout=300, env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"})
        if probe.returncode == 0:
            return exe, ""
        if not install:
            return None, f"{LITELLM_VENV} is broken: {probe.stderr.strip().splitlines()[-1:]}"
    if not install:
        return None, f"no LiteLLM venv at {LITELLM_VENV} (and --no-litellm-install)"
    log(f"installing the LiteLLM proxy into {LITELLM_VENV} (pip install 'litellm[proxy]'; once) ...")
    try:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], check=True, capture_output=True,
                           timeout=300)
        done = subprocess.run([str(python), "-m", "pip", "install", "-q", "litellm[proxy]"], capture_output=True,
                              text=True, timeout=1200)
    except (OSError, subprocess.SubprocessError) as e:
        return None, f"could not make {LITELLM_VENV}: {e}"
    if done.returncode != 0 or not exe.exists():
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return None, f"pip install 'litellm[proxy]' failed (exit {done.returncode}): {' / '.join(tail)}"
    return exe, ""


def start_litellm(exe: Path, workdir: Path, stub_port: int, cpus: set[int] | None) -> tuple[Proc, int]:
    port = free_port()
    config = {
        "model_list": [{"model_name": PROXY_MODEL, "litellm_params": {
            "model": f"openai/{STUB_MODEL}", "api_base": f"http://127.0.0.1:{stub_port}/v1", "api_key": STUB_KEY}}],
        "general_settings": {"master_key": LITELLM_KEY},
        "litellm_settings": {"telemetry": False, "set_verbose": False},
    }
    path = workdir / "litellm.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CANDOR_", "LITELLM_", "DATABASE_URL"))}
    env.update(LITELLM_LOCAL_MODEL_COST_MAP="True", LITELLM_LOG="ERROR", LITELLM_TELEMETRY="False",
               DISABLE_SCHEMA_UPDATE="True")
    argv = [str(exe), "--config", str(path), "--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"]
    proc = Proc("LiteLLM proxy", argv, workdir / "litellm.log", env=env, cpus=cpus, cwd=workdir)
    wait_ready(proc, port, "/health/liveliness", timeout=180)
    return proc, port


@dataclass
class LiteLLMPhase:
    skipped: str = ""
    version: str = ""
    requests: int = 0   # per latency scenario
    results: dict[str, LoadResult] = field(default_factory=dict)


def run_litellm(settings: Settings, stub_port: int, workdir: Path, proxy_cpus: set[int] | None,
                other_cpus: set[int] | None, log: Callable[[str], None]) -> LiteLLMPhase:
    phase = LiteLLMPhase()
    exe, why = ensure_litellm(log, install=settings.litellm_install)
    if exe is None:
        phase.skipped = why
        log(f"  LiteLLM skipped: {why}")
        return phase
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        phase.version = subprocess.run([str(exe.parent / "python"), "-c",
                                        "import importlib.metadata as m; print(m.version('litellm'))"],
                                       capture_output=True, text=True, timeout=60).stdout.strip()
    try:
        proc, port = start_litellm(exe, workdir, stub_port, proxy_cpus)
    except BenchError as e:
        phase.skipped = f"the LiteLLM proxy did not start: {str(e)[:500]}"
        log(f"  LiteLLM skipped: {phase.skipped}")
        return phase
    try:
        log(f"LiteLLM proxy {phase.version} (pid {proc.pid}) on port {port}")
        # a quarter of the latency runs' requests: at ~10 ms a request LiteLLM would take most of the run
        mine = dataclasses.replace(settings, requests=max(200, settings.requests // 4),
                                   warmup=max(20, settings.warmup // 4))
        phase.requests = mine.requests
        for sc in settings.scenarios:
            try:
                phase.results[sc.key] = loadgen(mine, sc, port, LITELLM_KEY, PROXY_MODEL, workdir, other_cpus)
            except BenchError as e:
                log(f"  LiteLLM {sc.title} failed: {str(e)[:300]}")
                continue
            log(f"  litellm {phase.results[sc.key].summary()}")
    finally:
        proc.stop()
    return phase


# --- several workers ---------------------------------------------------------------------------------

@dataclass
class WorkersPhase:
    skipped: str = ""
    # (setup, scenario key) -> result; setups: "1", "2" (memory state), "2r" (Redis state)
    results: dict[tuple[str, str], LoadResult] = field(default_factory=dict)


WORKER_SETUPS = (("1", 1, False), ("2", 2, False), ("2r", 2, True))


def run_workers(settings: Settings, stub_port: int, workdir: Path, log: Callable[[str], None]) -> WorkersPhase:
    """Throughput at 16 in flight with 1 and 2 workers, nothing pinned (two workers need both CPUs). Two
    workers run twice: with each worker's own session state in memory (what the second process adds by
    itself; a user's clocks are then per worker, which a deployment must not do) and with the state in
    Redis (what several workers need)."""
    phase = WorkersPhase()
    scenarios = [sc for sc in settings.scenarios if sc.timed]
    redis = PrivateRedis.start(workdir)
    try:
        for name, workers, shared in WORKER_SETUPS:
            if shared and redis is None:
                phase.skipped = "no redis-server on PATH: 2 workers with Redis state not measured"
                continue
            sub = workdir / f"workers-{name}"
            sub.mkdir()
            extra = {"state": {"url": redis.url}} if shared and redis else {}
            proc, port, key = start_proxy(sub, stub_port, None, workers=workers, extra=extra)
            try:
                for sc in scenarios:
                    phase.results[(name, sc.key)] = loadgen(settings, sc, port, key, PROXY_MODEL, sub, None)
                    log(f"  {workers} worker(s){', Redis state' if shared else ''} "
                        f"{phase.results[(name, sc.key)].summary()}")
            finally:
                proc.stop()
    finally:
        if redis:
            redis.stop()
    return phase


# --- shared state: Redis and PostgreSQL ------------------------------------------------------------------

class PrivateRedis:
    """A Redis of the bench's own (so its command count is the proxy's alone)."""

    def __init__(self, proc: Proc, port: int) -> None:
        self.proc, self.port = proc, port
        self.url = f"redis://127.0.0.1:{port}/0"

    @classmethod
    def start(cls, workdir: Path) -> PrivateRedis | None:
        exe = shutil.which("redis-server")
        if exe is None:
            return None
        port = free_port()
        proc = Proc("redis", [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                    workdir / f"redis-{port}.log")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if cls(proc, port).commands() >= 0:
                return cls(proc, port)
            time.sleep(0.05)
        proc.stop()
        return None

    def commands(self) -> int:
        """Commands processed so far (-1 when Redis does not answer)."""
        import socket

        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                s.sendall(b"INFO stats\r\n")
                data = b""
                while b"total_commands_processed" not in data or not data.endswith(b"\r\n"):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
        except OSError:
            return -1
        for line in data.decode(errors="replace").splitlines():
            if line.startswith("total_commands_processed:"):
                return int(line.split(":", 1)[1]) - 1   # this INFO itself
        return -1

    def stop(self) -> None:
        self.proc.stop()


class PrivateDatabase:
    """A PostgreSQL database of the bench's own on the configured server (dropped afterwards), so its
    transaction count is the proxy's alone."""

    def __init__(self, admin_dsn: str, name: str) -> None:
        self.admin_dsn, self.name = admin_dsn, name
        base, _, _ = admin_dsn.rpartition("/")
        self.url = f"{base}/{name}"

    @classmethod
    def create(cls, admin_dsn: str) -> tuple[PrivateDatabase | None, str]:
        name = f"candor_bench_{os.getpid()}_{secrets.token_hex(3)}"
        try:
            asyncio.run(_pg(admin_dsn, f'CREATE DATABASE "{name}"'))
        except Exception as e:   # unreachable, no permission, no asyncpg
            return None, f"PostgreSQL at {admin_dsn.rpartition('@')[2]} unusable: {type(e).__name__}: {e}"
        return cls(admin_dsn, name), ""

    def transactions(self) -> int:
        """Transactions committed and rolled back in this database so far (from pg_stat_database; the
        statistics collector lags by up to half a second, so the bench waits before reading)."""
        time.sleep(0.8)
        row = asyncio.run(_pg(self.url, "SELECT pg_stat_clear_snapshot(), xact_commit + xact_rollback AS n "
                                        "FROM pg_stat_database WHERE datname = current_database()", fetch=True))
        return int(row["n"]) if row else -1

    def drop(self) -> None:
        with contextlib.suppress(Exception):
            asyncio.run(_pg(self.admin_dsn, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))


async def _pg(dsn: str, statement: str, fetch: bool = False) -> Any:
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        if fetch:
            return await conn.fetchrow(statement)
        await conn.execute(statement)
        return None
    finally:
        await conn.close()


@dataclass
class StateRun:
    name: str                      # e.g. "Redis state, SQLite audit"
    results: dict[str, LoadResult] = field(default_factory=dict)
    redis_per_request: dict[str, float] = field(default_factory=dict)
    pg_per_request: dict[str, float] = field(default_factory=dict)


@dataclass
class StatePhase:
    skipped: list[str] = field(default_factory=list)
    runs: list[StateRun] = field(default_factory=list)


STATE_SCENARIOS = ("nonstream_c1", "nonstream_c16")


def run_state(settings: Settings, stub_port: int, workdir: Path, proxy_cpus: set[int] | None,
              other_cpus: set[int] | None, log: Callable[[str], None]) -> StatePhase:
    """The same non-streaming scenarios with session state in Redis, then also the audit log in PostgreSQL;
    the state round trips per request are counted on the servers themselves."""
    phase = StatePhase()
    scenarios = [sc for sc in settings.scenarios if sc.key in STATE_SCENARIOS]
    redis = PrivateRedis.start(workdir)
    if redis is None:
        phase.skipped.append("no redis-server on PATH: Redis state not measured")
        return phase
    pg_dsn = os.environ.get("CANDOR_BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
    db, why = PrivateDatabase.create(pg_dsn)
    if db is None:
        phase.skipped.append(f"{why}; set CANDOR_BENCH_PG_DSN to a database whose user may CREATE DATABASE")
    try:
        setups: list[tuple[str, dict[str, Any]]] = [("Redis state, SQLite audit", {"state": {"url": redis.url}})]
        if db is not None:
            setups.append(("Redis state, PostgreSQL audit",
                           {"state": {"url": redis.url}, "audit": {"url": db.url, "generate_keys": True}}))
        for i, (name, extra) in enumerate(setups):
            sub = workdir / f"state-{i}"
            sub.mkdir()
            run = StateRun(name)
            proc, port, key = start_proxy(sub, stub_port, proxy_cpus, extra=extra)
            try:
                for sc in scenarios:
                    r0 = redis.commands()
                    p0 = db.transactions() if db is not None and "audit" in extra else 0
                    s0 = stub_requests(stub_port)
                    res = loadgen(settings, sc, port, key, PROXY_MODEL, sub, other_cpus)
                    # every request sent (warm-up included) makes the round trips: divide by all of them,
                    # as the stub counted them
                    sent = stub_requests(stub_port) - s0
                    r1 = redis.commands()
                    p1 = db.transactions() if db is not None and "audit" in extra else 0
                    run.results[sc.key] = res
                    run.redis_per_request[sc.key] = (r1 - r0) / sent if sent else 0.0
                    if "audit" in extra:
                        run.pg_per_request[sc.key] = (p1 - p0) / sent if sent else 0.0
                    log(f"  {name}: {res.summary()}; Redis commands/request "
                        f"{run.redis_per_request[sc.key]:.2f}"
                        + (f", PostgreSQL transactions/request {run.pg_per_request[sc.key]:.2f}"
                           if "audit" in extra else ""))
            finally:
                proc.stop()
            phase.runs.append(run)
    finally:
        redis.stop()
        if db is not None:
            db.drop()
    return phase
