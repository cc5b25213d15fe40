"""A stream's begin record is written while the provider prepares its first chunk (not after it), and is
still durable before the first byte; a provider that fails after the begin record gets a refusal that
finishes it, so no stream is left begun-not-finished."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.root import build_app
from middleware.config.deployment import load_config
from middleware.http.errors import CandorError
from middleware.pipeline.upstream import UpstreamRequest
from middleware.testing import Reply, ScriptedUpstream


def _rows(db: Path, kind: str) -> list[dict[str, Any]]:
    with sqlite3.connect(db) as c:
        return [json.loads(b) for (b,) in c.execute("SELECT body FROM audit_events WHERE kind = ?", (kind,))]


class WaitsForBegin(ScriptedUpstream):
    """Answers only once the stream's begin record is in the database (or gives up after 5 s)."""

    def __init__(self, db: Path) -> None:
        super().__init__([Reply("Hello there. How are you today?")])
        self.db = db
        self.saw_begin = False

    async def chat(self, request: UpstreamRequest) -> AsyncIterator[dict[str, Any]]:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not self.saw_begin:
            self.saw_begin = bool(self.db.exists() and _rows(self.db, "stream_begin"))
            await asyncio.sleep(0.01)
        async for obj in super().chat(request):
            yield obj


def _app(tmp_path: Path, upstream: ScriptedUpstream, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("APP_KEY_T", "k")
    (tmp_path / "candor.yaml").write_text(
        f'audit: {{url: "sqlite:///{tmp_path}/a.db", generate_keys: true}}\n'
        "apps: [{id: app, key_env: APP_KEY_T}]\n")
    return build_app(load_config(tmp_path / "candor.yaml"), upstream_override=upstream)


async def _stream(app: Any) -> httpx.Response:
    async with app.app.router.lifespan_context(app.app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://candor") as client:
        return await client.post("/v1/chat/completions", headers={"authorization": "Bearer k", "x-candor-user": "u1"},
                                 json={"model": "candor-demo", "stream": True,
                                       "messages": [{"role": "user", "content": "hi"}]})


async def test_the_begin_record_is_written_while_the_provider_prepares_its_first_chunk(tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    upstream = WaitsForBegin(tmp_path / "a.db")
    resp = await _stream(_app(tmp_path, upstream, monkeypatch))
    assert resp.status_code == 200 and "Hello there" in resp.text
    assert upstream.saw_begin   # the provider was still being waited for when the begin record was durable
    begin = _rows(tmp_path / "a.db", "stream_begin")
    end = [d for e in _rows(tmp_path / "a.db", "exchange") for d in e["decisions"] if d["rule"] == "stream.end"]
    assert len(begin) == 1 and [d["detail"]["begin_event_id"] for d in end] == [begin[0]["event_id"]]


@pytest.mark.parametrize("fail", [CandorError(502, "upstream_error", "the provider broke"), RuntimeError("a bug")])
async def test_a_provider_failing_after_the_begin_record_finishes_it(tmp_path: Path, fail: Exception,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    upstream = ScriptedUpstream([Reply(fail=fail)] if isinstance(fail, CandorError) else [])
    if not isinstance(fail, CandorError):
        async def broken(request: UpstreamRequest) -> AsyncIterator[dict[str, Any]]:
            raise fail
            yield {}
        upstream.chat = broken   # type: ignore[method-assign]
    resp = await _stream(_app(tmp_path, upstream, monkeypatch))
    assert resp.status_code == (502 if isinstance(fail, CandorError) else 500)
    begin = _rows(tmp_path / "a.db", "stream_begin")
    errors = _rows(tmp_path / "a.db", "error")
    assert len(begin) == 1 and len(errors) == 1
    ends = [d["detail"]["begin_event_id"] for d in errors[0]["decisions"] if d["rule"] == "stream.end"]
    assert ends == [begin[0]["event_id"]]
