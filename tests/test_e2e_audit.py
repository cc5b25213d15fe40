"""End-to-end: every exchange, refusal and error through a running proxy is in the audit log, durably
before the reply completes; auditors verify it; erasure keeps it verifiable; a dead store never loses an
event (fail closed refuses traffic, fail open spools and replays). Issue 4."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import openai
import pytest

from middleware.cli.main import main
from tests import web
from tests.clockproxy import running_proxy, sdk
from tests.conftest import APP_KEY, lean_config
from tests.proxy import ProxyProcess
from tests.services import require_postgres
from tests.stubs import Script, StubProvider

ADMIN, AUDITOR = "admin-audit-e2e", "auditor-audit-e2e"


@pytest.fixture(scope="module")
def proxy(stub: StubProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    tmp = tmp_path_factory.mktemp("audit")
    (tmp / "policies").mkdir()
    env = {"STUB_KEY": "sk-stub", "E2E_APP_KEY": APP_KEY,
           "CANDOR_ADMIN_KEY": ADMIN, "CANDOR_AUDITOR_KEY": AUDITOR}
    with ProxyProcess(tmp, lean_config(stub.url, tmp), env) as p:  # type: ignore[attr-defined]
        yield p


def events(proxy: ProxyProcess, **query: str) -> list[dict[str, Any]]:
    resp = web.get(proxy.url + "/audit/events", params=query, headers={"authorization": f"Bearer {AUDITOR}"})
    assert resp.status_code == 200, resp.text
    data: list[dict[str, Any]] = resp.json()["data"]
    return data


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def candor(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Callable[..., Ran]:
    """The operator's ``candor`` command against a proxy's config, in process (with the proxy's environment
    and working directory), as the entry point runs it."""
    def run(proxy: ProxyProcess, *args: str) -> Ran:
        for name, value in proxy.env.items():
            if os.environ.get(name) != value:
                monkeypatch.setenv(name, value)
        monkeypatch.chdir(proxy.tmp)
        capsys.readouterr()
        with pytest.raises(SystemExit) as done:
            main([*args, "--config", str(proxy.config_path)])
        out = capsys.readouterr()
        return Ran(int(done.value.code or 0), out.out, out.err)
    return run


def test_every_exchange_refusal_and_error_is_an_event(proxy: ProxyProcess, stub: StubProvider,
                                                      candor: Callable[..., Ran]) -> None:
    client = web.OpenAI(base_url=proxy.url + "/v1", api_key=APP_KEY, max_retries=0)
    user = {"X-Candor-User": "audited-user"}
    ok = client.chat.completions.with_raw_response.create(model="companion", extra_headers=user,
                                                         messages=[{"role": "user", "content": "zq-private-7731"}])
    streamed = client.chat.completions.create(model="companion", extra_headers=user, stream=True,
                                              messages=[{"role": "user", "content": "again"}])
    chunks = list(streamed)
    stream_event = chunks[-1].model_extra["compliance"]["event_id"]
    # the streamed exchange is on record as soon as [DONE] has arrived
    assert [e["event_id"] for e in events(proxy, kind="exchange")].count(stream_event) == 1
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="nope", extra_headers=user, messages=[{"role": "user", "content": "x"}])
    stub.push(Script(status=500))
    with pytest.raises(openai.APIStatusError):
        client.chat.completions.create(model="companion", extra_headers=user,
                                       messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.AuthenticationError):
        web.OpenAI(base_url=proxy.url + "/v1", api_key="bad", max_retries=0).chat.completions.create(
            model="companion", messages=[{"role": "user", "content": "x"}])

    by_id = {e["event_id"]: e for e in events(proxy)}
    exchange = by_id[ok.headers["x-candor-event-id"]]
    assert exchange["kind"] == "exchange" and exchange["status"] == 200 and exchange["user_ref"]
    assert exchange["user_ref"] != "audited-user"                      # a pseudonym, never the raw id
    notice_kinds = [n["kind"] for n in exchange["notices"]]
    # real time here: between 01:00 and 05:00 Beijing time the CN pack's late-night signal adds a reminder
    assert notice_kinds[0] == "ai_disclosure" and set(notice_kinds) <= {"ai_disclosure", "dependence_reminder"}
    assert exchange["content_ref"] and "zq-private-7731" not in str(exchange)       # content stored apart, encrypted
    assert {d["rule"] for d in exchange["decisions"]} >= {"disclosure", "labels"}
    delivered = (ok.parse().model_extra or {})["compliance"]["label"]
    recorded = next(d for d in exchange["decisions"] if d["rule"] == "labels")["detail"]
    assert recorded["explicit"] == delivered["explicit"] and recorded["implicit"] == delivered["implicit"]
    kinds = [(e["kind"], e["status"]) for e in by_id.values()]
    assert ("refusal", 404) in kinds and ("error", 502) in kinds
    # a request without a valid key is counted (per source, one aggregated event per interval), not logged
    assert ("refusal", 401) not in kinds
    assert "candor_unauthenticated_total" in web.get(proxy.url + "/metrics").text

    verified = candor(proxy, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_erasure_destroys_content_and_verify_still_passes(proxy: ProxyProcess, candor: Callable[..., Ran]) -> None:
    client = web.OpenAI(base_url=proxy.url + "/v1", api_key=APP_KEY, max_retries=0)
    client.chat.completions.create(model="candor-demo", extra_headers={"X-Candor-User": "forget-me"},
                                   messages=[{"role": "user", "content": "my secret diary"}])
    resp = web.delete(proxy.url + "/admin/users/forget-me/content", headers={"authorization": f"Bearer {ADMIN}"})
    assert resp.status_code == 200 and resp.json()["contents_deleted"] >= 1
    assert web.delete(proxy.url + "/admin/users/forget-me/content",
                      headers={"authorization": f"Bearer {AUDITOR}"}).status_code == 403
    assert any(e["kind"] == "erasure" for e in events(proxy))
    exported = candor(proxy, "audit", "export", "--user", "forget-me")
    assert exported.returncode == 0 and "erased" in exported.stdout and "secret diary" not in exported.stdout
    assert candor(proxy, "audit", "verify").returncode == 0


# -- a dead store: nothing is lost -----------------------------------------------------------------------

FAIL_OPEN = """
id: test-open
extends: cn-anthropomorphic-2026
title: fail open
audit: {fail: open, retention: 190d, store_content: true}
"""


async def _sql(dsn: str, schema: str, statement: str) -> Any:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        return await conn.fetch(statement)
    finally:
        await conn.close()


def test_a_dead_audit_store_refuses_fail_closed_and_spools_fail_open(tmp_path: Path, stub: StubProvider) -> None:
    dsn = require_postgres()
    schema = f"e2e_audit_{os.getpid()}_{os.urandom(3).hex()}"
    sep = "&" if "?" in dsn else "?"
    cfg = {
        "models": [{"name": "companion", "target": "openai/stub-model", "api_base": f"{stub.url}/v1",  # type: ignore[attr-defined]
                    "api_key_env": "STUB_KEY"}],
        "apps": [{"id": "closed", "key_env": "APP_CLOSED"},
                 {"id": "open", "key_env": "APP_OPEN", "policy": "test-open"}],
        "audit": {"url": f"{dsn}{sep}schema={schema}", "generate_keys": True, "key_dir": str(tmp_path / "keys"),
                  "timeout": "1s", "retry_interval": "200ms"},
    }
    env = {"STUB_KEY": "sk", "APP_CLOSED": "k-closed", "APP_OPEN": "k-open"}
    msgs = [{"role": "user", "content": "hello"}]
    try:
        with running_proxy(tmp_path, cfg, {"test-open": FAIL_OPEN}, env=env) as (server, _):
            closed, opened = sdk(server, "k-closed"), sdk(server, "k-open")
            closed = closed.with_options(default_headers={"X-Candor-User": "closed-user"})
            closed.chat.completions.create(model="companion", messages=msgs)
            asyncio.run(_sql(dsn, schema, "ALTER TABLE audit_events RENAME TO audit_events_away"))
            sent_open = []
            for i in range(5):                                  # the store dies mid-traffic
                try:
                    closed.chat.completions.create(model="companion", messages=msgs)
                except openai.APIStatusError as exc:
                    assert exc.status_code == 503 and exc.code == "audit_unavailable"
                raw = opened.chat.completions.with_raw_response.create(model="companion", messages=msgs,
                                                                      extra_headers={"X-Candor-User": f"u{i}"})
                sent_open.append(raw.headers["x-candor-event-id"])
            with pytest.raises(openai.APIStatusError) as exc:
                closed.chat.completions.create(model="companion", messages=msgs)
            assert exc.value.status_code == 503
            assert web.get(server.url + "/readyz").status_code == 503
            asyncio.run(_sql(dsn, schema, "ALTER TABLE audit_events_away RENAME TO audit_events"))
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                rows = asyncio.run(_sql(dsn, schema, "SELECT event_id FROM audit_events"))
                if set(sent_open) <= {r["event_id"] for r in rows}:
                    break
                time.sleep(0.2)
            stored = {r["event_id"] for r in asyncio.run(_sql(dsn, schema, "SELECT event_id FROM audit_events"))}
            assert set(sent_open) <= stored, "fail-open events were lost"
            closed.chat.completions.create(model="companion", messages=msgs)   # and service resumes
    finally:
        asyncio.run(_drop(dsn, schema))


async def _drop(dsn: str, schema: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def test_the_retention_job_runs_from_start_up(proxy: ProxyProcess) -> None:
    deadline = time.monotonic() + 30
    purges: list[dict[str, Any]] = []
    while not purges and time.monotonic() < deadline:
        purges = events(proxy, kind="purge")
        time.sleep(0.1)
    assert purges, "the background retention job left no purge event"
    detail = purges[0]["decisions"][0]["detail"]
    kept = _when(purges[0]["ts"]) - _when(detail["before"])
    assert abs(kept - 190 * 86400) < 60      # only what is older than the CN pack's 190 days is purged
    assert purges[0]["decisions"][0]["cites"] == ["ANTH-LOG-1"]


def _when(ts: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
