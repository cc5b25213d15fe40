"""The stub upstream and the proxy under test, and the load generator run against either of them."""

from __future__ import annotations

import http.client
import json
import os
import secrets
import shutil
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from bench.loadgen import LoadResult
from bench.procs import BenchError, Proc, free_port, http_get, python_path, wait_ready
from bench.settings import PROXY_MODEL, REPO, STUB_KEY, STUB_MODEL, Scenario, Settings


def start_stub(workdir: Path, chunks: int, cpus: set[int] | None) -> tuple[Proc, int]:
    port = free_port()
    argv = [sys.executable, "-m", "bench.stub_upstream", "--port", str(port), "--chunks", str(chunks),
            "--api-key", STUB_KEY]
    proc = Proc("stub upstream", argv, workdir / "stub.log", cpus=cpus)
    wait_ready(proc, port, "/v1/models", timeout=15)
    return proc, port


def proxy_command(config: Path, workers: int = 1, source: Path = REPO, launcher: list[str] | None = None) -> list[str]:
    """``candor serve`` of this checkout, or of another source tree (``bench.versions``): that tree's own
    ``candor`` entry point (``[project.scripts]`` of its ``pyproject.toml``), imported from the tree. ``launcher``: a
    command that runs this checkout's CLI instead (``bench.stage_timer``, which wraps it)."""
    if launcher is not None:
        base = launcher
    elif source != REPO:
        module, _, func = entry_point(source).partition(":")
        call = f"import sys; sys.argv[0] = 'candor'; from {module} import {func}; sys.exit({func}())"
        base = [sys.executable, "-c", call]
    else:
        script = Path(sys.executable).parent / "candor"
        base = [str(script)] if script.exists() else [sys.executable, "-m", "adapters.main"]
    return [*base, "serve", "--config", str(config), "--workers", str(workers)]


def entry_point(source: Path) -> str:
    """The ``candor`` console script (``module:function``) a source tree declares."""
    with (source / "pyproject.toml").open("rb") as f:
        scripts = tomllib.load(f).get("project", {}).get("scripts", {})
    if "candor" not in scripts:
        raise BenchError(f"{source}: pyproject.toml declares no `candor` script")
    return str(scripts["candor"])


def write_proxy_config(workdir: Path, stub_port: int, proxy_port: int, app_policy: str | None = None,
                       long_stub_port: int | None = None, extra: dict[str, Any] | None = None,
                       source: Path = REPO) -> Path:
    """``candor.yaml`` for the bench; ``app_policy``: the app's policy id (default: Candor's default). Policy
    files already in ``workdir/policies`` (an operator's own) stay beside the repository's packs.
    ``long_stub_port``: also model ``bench-long`` at the long-streams stub; ``extra``: sections to set
    (``state``, ``audit``, ...); ``source``: the tree whose packs are copied."""
    # the repository's packs, copied so that the bench runs today's policies whatever the loader's
    # fallbacks, and a policy reload or test file in the tree cannot touch a running bench
    policies = workdir / "policies"
    if (source / "policies").is_dir():
        shutil.copytree(source / "policies", policies, dirs_exist_ok=True)
    policies.mkdir(exist_ok=True)
    config: dict[str, Any] = {
        "server": {"host": "127.0.0.1", "port": proxy_port},
        "models": [{"name": PROXY_MODEL, "target": f"openai/{STUB_MODEL}",
                    "api_base": f"http://127.0.0.1:{stub_port}/v1", "api_key_env": "BENCH_UPSTREAM_KEY"}],
        "apps": [{"id": "bench", "key_env": "BENCH_APP_KEY", **({"policy": app_policy} if app_policy else {})}],
        "policies_dir": str(policies),
        "audit": {"url": f"sqlite:///{workdir / 'audit.db'}"},
    }
    if long_stub_port is not None:
        config["models"].append({"name": "bench-long", "target": f"openai/{STUB_MODEL}",
                                 "api_base": f"http://127.0.0.1:{long_stub_port}/v1",
                                 "api_key_env": "BENCH_UPSTREAM_KEY"})
    config.update(extra or {})
    path = workdir / "candor.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def start_proxy(workdir: Path, stub_port: int, cpus: set[int] | None,
                argv: list[str] | None = None, timeout: float = 60,
                app_policy: str | None = None, long_stub_port: int | None = None, workers: int = 1,
                extra: dict[str, Any] | None = None, source: Path = REPO,
                env: dict[str, str] | None = None, launcher: list[str] | None = None) -> tuple[Proc, int, str]:
    """Start the proxy (of ``source``: this checkout, or another tree) and wait for ``GET /healthz``; raises
    BenchError with its log tail if it fails. ``env``: variables to set for it beyond the bench's own;
    ``launcher``: see ``proxy_command``."""
    port = free_port()
    config = write_proxy_config(workdir, stub_port, port, app_policy, long_stub_port, extra, source)
    app_key = "bench-" + secrets.token_urlsafe(24)
    # CANDOR_* variables from the caller's shell would override the bench's config
    child = {k: v for k, v in os.environ.items() if not k.startswith("CANDOR_")}
    child.update(BENCH_UPSTREAM_KEY=STUB_KEY, BENCH_APP_KEY=app_key, LITELLM_LOCAL_MODEL_COST_MAP="True",
                 PYTHONPATH=python_path(source, child), **(env or {}))
    try:
        proc = Proc("proxy", argv or proxy_command(config, workers, source, launcher), workdir / "proxy.log", env=child,
                    cpus=cpus, cwd=workdir)
    except OSError as e:
        raise BenchError(f"proxy could not be started: {e}") from e
    wait_ready(proc, port, "/healthz", timeout=timeout)
    return proc, port, app_key


def run_to_end(name: str, argv: list[str], out: Path, cpus: set[int] | None,
               during: Callable[[], None] | None = None) -> str:
    """Run a client process to its end (calling ``during`` every 0.2 s meanwhile) and return what it wrote."""
    proc = Proc(name, argv, out, cpus=cpus)
    while proc.popen.poll() is None:
        if during is not None:
            during()
        time.sleep(0.2)
    proc.stop()
    return out.read_text(errors="replace")


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
    text = run_to_end("load generator", argv, out, cpus, during)
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

