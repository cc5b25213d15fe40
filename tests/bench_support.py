"""Shared by the bench smoke tests: the harness's servers get ports reserved for this test process."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import floor as bench_floor
from bench import phases as bench_phases
from bench import servers as bench_servers
from tests import web
from tests.stubs import free_port

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module", autouse=True)
def reserved_ports() -> Iterator[None]:
    """``tests.stubs.free_port`` for the bench's own servers: under pytest-xdist several test processes pick
    loopback ports at the same time, and the bench's ``free_port`` does not reserve them."""
    with pytest.MonkeyPatch.context() as m:
        for module in (bench_floor, bench_phases, bench_servers):
            m.setattr(module, "free_port", free_port)
        yield


@contextlib.contextmanager
def stub_upstream(*args: str) -> Iterator[int]:
    """``python -m bench.stub_upstream --port 0 ARGS`` running; yields the port it says it listens on."""
    argv = [sys.executable, "-m", "bench.stub_upstream", "--port", "0", *args]
    proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    try:
        assert "listening on http://127.0.0.1:" in line, line
        yield int(line.rsplit(":", 1)[1].split("/")[0])
    finally:
        proc.terminate()
        proc.wait(5)


def stub_requests(port: int) -> int:
    """How many requests the bench's stub upstream has answered (its ``/_stub/stats``), read by the tests' client."""
    return int(web.get(f"http://127.0.0.1:{port}/_stub/stats").json()["requests"])
