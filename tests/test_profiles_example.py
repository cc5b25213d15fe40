"""examples/user_profile.py, run as a separate process against the admin routes served on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.applications import Starlette

from adapters.sqlite.profiles import SqliteProfileStore
from middleware.config.deployment import CandorConfig
from middleware.profiles.api import profile_routes
from middleware.profiles.service import ProfileService
from tests.stubs import ServerThread

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "user_profile.py"


async def test_example_registers_and_reads_back_a_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CANDOR_ADMIN_KEY", "adm-example")
    store = SqliteProfileStore(tmp_path / "audit.db")
    await store.open()  # its worker thread serves calls from the server thread's event loop too
    service = ProfileService(store)
    app = Starlette(routes=profile_routes(lambda: service, CandorConfig()))
    with ServerThread(app) as server:
        env = {**os.environ, "CANDOR_ADMIN_KEY": "adm-example"}
        result = await asyncio.to_thread(subprocess.run, [sys.executable, str(EXAMPLE), "kid-42", "--base-url",
                                                          server.url], env=env, text=True, capture_output=True,
                                         timeout=20)
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout[: result.stdout.rindex("}") + 1])
    assert printed["user_id"] == "kid-42" and printed["age_band"] == "under14"
    assert printed["guardian_consent"] is True and printed["blocked_personas"] == ["night-owl"]
    assert "late-night-lover" in result.stdout.splitlines()[-1]
    got = await service.get_fresh("kid-42")
    assert got is not None and got.blocked_personas == ["late-night-lover", "night-owl"]
    await store.close()
