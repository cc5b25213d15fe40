"""End-to-end (issue 14): streamed replies are recorded before they speak. A proxy killed mid-stream
leaves a begun-not-finished record that ``audit report`` finds; fail closed with the store gone, no
reply text is delivered at all."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import asyncpg
import openai
import pytest

from middleware.cli.main import main
from tests import web
from tests.clockproxy import running_proxy, sdk
from tests.proxy import ProxyProcess
from tests.services import require_postgres
from tests.stubs import Script, StubProvider


def _config(stub: StubProvider, tmp: Path) -> dict[str, object]:
    (tmp / "policies").mkdir(exist_ok=True)
    return {"models": [{"name": "companion", "target": "openai/stub-model",
                        "api_base": f"{stub.url}/v1", "api_key_env": "STUB_KEY"}],  # type: ignore[attr-defined]
            "apps": [{"id": "app", "key_env": "APP_KEY"}], "policies_dir": str(tmp / "policies"),
            "audit": {"url": f"sqlite:///{tmp}/audit.db", "key_dir": str(tmp / "keys")}}


def _candor(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as done:
        main(list(args))
    return int(done.value.code or 0), capsys.readouterr().out


def test_proxy_killed_mid_stream_leaves_a_begun_not_finished_record(tmp_path: Path, stub: StubProvider,
                                                                    monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    stub.push(Script(text="one two three four five six seven eight nine ten", chunk_delay=0.5))
    env = {"STUB_KEY": "sk", "APP_KEY": "k-app"}
    proxy = ProxyProcess(tmp_path, _config(stub, tmp_path), env).start(timeout=90)
    try:
        body = {"model": "companion", "stream": True, "messages": [{"role": "user", "content": "talk"}]}
        with web.stream("POST", proxy.url + "/v1/chat/completions", json=body, timeout=30,
                        headers={"Authorization": "Bearer k-app", "X-Candor-User": "u1"}) as resp:
            event_id = resp.headers["x-candor-event-id"]
            got_text = False
            # the iterator is kept until the proxy is dead: dropped at the ``break``, it would be closed at once, and
            # closing it closes the unfinished response's connection, which the proxy would see, and record as the
            # client leaving (a finished stream), whenever this process is slower to kill it than it is to notice
            lines = resp.iter_lines()
            for line in lines:
                if line.startswith("data: {") and json.loads(line[6:])["choices"][0]["delta"].get("content"):
                    got_text = True
                    break
            assert got_text
            assert proxy.proc is not None
            proxy.proc.kill()   # SIGKILL: no shutdown, no final record, no closing checkpoint
            proxy.proc.wait()
            del lines
    finally:
        proxy.stop()
    # the operator's commands, in process (as the ``candor`` entry point runs them)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    config = str(proxy.config_path)
    code, out = _candor(capsys, "audit", "report", "--format", "json", "--config", config)
    assert code == 0, out
    report = json.loads(out)
    assert report["streams"]["begun"] == 1 and report["streams"]["begun_not_finished"] == 1
    (begin_id,) = report["streams"]["unfinished_event_ids"]
    code, out = _candor(capsys, "audit", "export", "--kind", "stream_begin", "--config", config)
    (begin,) = [json.loads(line) for line in out.splitlines()]
    assert begin["event_id"] == begin_id
    assert begin["decisions"][0]["detail"]["exchange_event_id"] == event_id
    code, out = _candor(capsys, "audit", "verify", "--config", config)
    assert code == 0, out   # intact, and it says the crashed stream's tail is unsigned
    assert "no signature covers" in out


async def _sql(dsn: str, schema: str, statement: str) -> None:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def test_fail_closed_with_the_store_gone_delivers_no_reply_text(tmp_path: Path, stub: StubProvider) -> None:
    dsn = require_postgres()
    schema = f"e2e_begin_{os.getpid()}_{os.urandom(3).hex()}"
    sep = "&" if "?" in dsn else "?"
    cfg = _config(stub, tmp_path)
    cfg["audit"] = {"url": f"{dsn}{sep}schema={schema}", "generate_keys": True, "key_dir": str(tmp_path / "keys"),
                    "timeout": "1s", "retry_interval": "30s"}
    env = {"STUB_KEY": "sk", "APP_KEY": "k-app"}
    try:
        with running_proxy(tmp_path, cfg, env=env) as (server, _):
            client = sdk(server, "k-app")
            msgs = [{"role": "user", "content": "hello"}]
            assert "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(
                model="companion", messages=msgs, stream=True, user="stream-user") if c.choices)
            # the store goes away; the proxy has not noticed yet (it still reports healthy)
            asyncio.run(_sql(dsn, schema, "ALTER TABLE audit_events RENAME TO audit_events_away"))
            assert web.get(server.url + "/readyz").status_code == 200
            stub.push(Script(text="secret words that must not leak"))
            received: list[str] = []
            with pytest.raises(openai.APIStatusError) as exc:
                for chunk in client.chat.completions.create(model="companion", messages=msgs, stream=True,
                                                            user="stream-user"):
                    received += [c.delta.content or "" for c in chunk.choices]
            assert exc.value.status_code == 503 and exc.value.code == "audit_unavailable"
            assert "closed" in str(exc.value.message)
            assert "".join(received) == ""
    finally:
        asyncio.run(_drop(dsn, schema))


async def _drop(dsn: str, schema: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()
