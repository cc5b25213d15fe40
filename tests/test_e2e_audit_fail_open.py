"""End-to-end (issue 14): fail open means open on PostgreSQL. The audit log, the user profiles and the
persona registry share one database; when it vanishes (cut at the TCP level), a policy with
``audit.fail: open`` keeps answering (>= 99 %) on cached state and documented defaults, and every event
spooled meanwhile is in the database after it returns. A fail-closed app's 503 says which mode applies."""

from __future__ import annotations

import asyncio
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

from tests import web
from tests.clockproxy import running_proxy
from tests.services import require_postgres
from tests.tcprelay import TcpRelay

FAIL_OPEN = """
id: test-open
extends: cn-anthropomorphic-2026
title: fail open
audit: {fail: open, retention: 190d, store_content: true}
"""


async def _event_ids(dsn: str, schema: str) -> set[str]:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        return {r["event_id"] for r in await conn.fetch("SELECT event_id FROM audit_events")}
    finally:
        await conn.close()


async def _drop(dsn: str, schema: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def test_fail_open_keeps_answering_through_a_database_outage(tmp_path: Path) -> None:
    dsn = require_postgres()
    parts = urlsplit(dsn)
    relay = TcpRelay(parts.hostname or "127.0.0.1", parts.port or 5432).start()
    schema = f"e2e_open_{os.getpid()}_{os.urandom(3).hex()}"
    via_relay = dsn.replace(f"{parts.hostname}:{parts.port or 5432}", f"127.0.0.1:{relay.port}")
    sep = "&" if "?" in via_relay else "?"
    cfg = {"models": [{"name": "candor-demo", "target": "candor/demo"}],
           "apps": [{"id": "open", "key_env": "APP_OPEN", "policy": "test-open"},
                    {"id": "closed", "key_env": "APP_CLOSED"}],
           "audit": {"url": f"{via_relay}{sep}schema={schema}", "generate_keys": True,
                     "key_dir": str(tmp_path / "keys"), "timeout": "1s", "retry_interval": "200ms"}}
    env = {"APP_OPEN": "k-open", "APP_CLOSED": "k-closed"}
    try:
        with running_proxy(tmp_path, cfg, {"test-open": FAIL_OPEN}, env=env) as (server, _):
            url = server.url + "/v1/chat/completions"

            def send(i: int, key: str = "k-open") -> tuple[int, str | None, dict[str, object]]:
                r = web.post(url, json={"model": "candor-demo", "messages": [{"role": "user", "content": f"hi {i}"}]},
                             headers={"Authorization": f"Bearer {key}", "X-Candor-User": f"user-{i % 20}"},
                             timeout=30)
                return r.status_code, r.headers.get("x-candor-event-id"), r.json()

            assert all(send(i)[0] == 200 for i in range(10))   # users 0..9 seen (their profiles cached)
            relay.cut()
            with ThreadPoolExecutor(max_workers=4) as pool:
                during = list(pool.map(send, range(150)))   # users 10..19 were never read: default applies
            answered = [r for r in during if r[0] == 200]
            assert len(answered) >= 0.99 * len(during), {r[0] for r in during}
            closed = send(0, "k-closed")
            assert closed[0] == 503 and "closed" in str(closed[2]["error"]["message"])  # type: ignore[index]
            relay.restore()
            wanted = {r[1] for r in answered}
            deadline = time.monotonic() + 20
            stored: set[str] = set()
            while time.monotonic() < deadline:
                stored = asyncio.run(_event_ids(dsn, schema))
                if wanted <= stored:
                    break
                time.sleep(0.3)
            assert wanted <= stored, f"{len(wanted - stored)} spooled events were lost"
            assert send(1, "k-closed")[0] == 200   # and fail-closed service resumes
    finally:
        relay.close()
        asyncio.run(_drop(dsn, schema))
