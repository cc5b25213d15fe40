"""Runs a real ``candor serve`` process for end-to-end tests."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests import web
from tests.stubs import free_port

ROOT = Path(__file__).resolve().parents[1]


class ProxyProcess:
    def __init__(self, tmp: Path, config: dict[str, Any], env: dict[str, str] | None = None,
                 workers: int = 1) -> None:
        self.tmp = tmp
        self.port = free_port()
        config = {**config, "server": {**config.get("server", {}), "host": "127.0.0.1", "port": self.port}}
        self.config_path = tmp / "candor.yaml"
        self.config_path.write_text(yaml.safe_dump(config, allow_unicode=True))
        self.env = {**os.environ, **(env or {})}
        self.env.pop("CANDOR_CONFIG", None)
        self.workers = workers
        self.log_path = tmp / "proxy.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120.0) -> ProxyProcess:
        self.spawn()
        return self.wait_healthy(timeout)

    def spawn(self) -> None:
        """Start the process without waiting (``started`` starts several side by side)."""
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "adapters.main", "serve", "--config", str(self.config_path),
             "--workers", str(self.workers)],
            cwd=self.tmp, env=self.env, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_healthy(self, timeout: float = 120.0) -> ProxyProcess:
        assert self.proc is not None, "spawn() first"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"candor serve exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if web.get(self.url + "/healthz", timeout=2.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"candor serve did not become healthy in {timeout}s:\n{self.log()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if hasattr(self, "_log"):
            self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> ProxyProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def started(*procs: ProxyProcess, timeout: float = 120.0) -> Iterator[tuple[ProxyProcess, ...]]:
    """Several proxies started side by side (their start-ups overlap), stopped together."""
    try:
        for p in procs:
            p.spawn()
        for p in procs:
            p.wait_healthy(timeout)
        yield procs
    finally:
        for p in procs:
            p.stop()
