"""The Vercel AI SDK (Node) against a running proxy: ``tests/clients/vercel_ai.test.mjs`` run with ``node --test``.

Its packages are installed by ``npm ci`` in ``tests/clients`` (``.ci/run`` does it when ``node`` is present);
without node or the packages the test is skipped, with the reason."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import APP_KEY
from tests.proxy import ProxyProcess
from tests.stubs import StubProvider

CLIENTS = Path(__file__).resolve().parent / "clients"


def test_vercel_ai_sdk(lean_proxy: ProxyProcess, stub: StubProvider) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the Vercel AI SDK test needs Node.js 18 or later")
    if not (CLIENTS / "node_modules" / "ai").is_dir():
        pytest.skip("the Vercel AI SDK is not installed: run `npm ci` in tests/clients (.ci/run does)")
    env = {**os.environ, "CANDOR_URL": lean_proxy.url, "CANDOR_KEY": APP_KEY}
    done = subprocess.run([node, "--test", "vercel_ai.test.mjs"], cwd=CLIENTS, env=env, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "# pass 4" in done.stdout and "# fail 0" in done.stdout
