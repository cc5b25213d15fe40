"""One database handle per URL in a worker: every store of a running Candor shares one SQLite connection
(plus the audit writer's own) or one asyncpg pool (adapters/sqlite/db.py, adapters/postgres/db.py)."""

from __future__ import annotations

import os
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from adapters.postgres.db import SharedPool
from adapters.root import build_app
from adapters.sqlite.db import SharedSqlite
from middleware.config.deployment import load_config
from tests.services import require_postgres


def _config(tmp: Path, audit_url: str) -> Path:
    (tmp / "policies").mkdir(exist_ok=True)
    path = tmp / "candor.yaml"
    path.write_text(f"audit: {{url: \"{audit_url}\", generate_keys: true}}\npolicies_dir: {tmp / 'policies'}\n")
    return path


async def _run_a_request(app: Any) -> None:
    """Start-up opens every store; one chat request uses them."""
    async with app.app.router.lifespan_context(app.app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://candor") as client:
            key = os.environ["CANDOR_DEV_APP_KEY"]
            r = await client.post("/v1/chat/completions", headers={"authorization": f"Bearer {key}"},
                                  json={"model": "candor-demo", "messages": [{"role": "user", "content": "hi"}],
                                        "user": "u-1"})
            assert r.status_code == 200, r.text


def _still_open(db: Path) -> bool:
    return str(db.resolve()) in SharedSqlite._open


def _same_file(paths: list[str], db: Path) -> list[str]:
    return [p for p in paths if Path(p).resolve() == db.resolve()]


async def test_a_worker_opens_one_sqlite_connection_plus_the_audit_writer(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CANDOR_DEV_APP_KEY", "dev-key-handles")
    opened: list[str] = []
    real_connect = sqlite3.connect

    def counting_connect(database: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        opened.append(str(database))
        return real_connect(database, *args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", counting_connect)
    db = tmp_path / "audit.db"
    app = build_app(load_config(_config(tmp_path, f"sqlite:///{db}")))
    await _run_a_request(app)
    on_db = _same_file(opened, db)
    # the shared connection (profiles, personas, alerts, hand-overs, audit reads) + the audit writer
    assert len(on_db) == 2, opened
    assert not _still_open(db), "the last store to close closes the shared connection"


async def test_a_worker_opens_one_asyncpg_pool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dsn = require_postgres()
    schema = f"handles_{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("CANDOR_DEV_APP_KEY", "dev-key-handles")
    pools: list[str] = []
    real_create_pool = asyncpg.create_pool

    def counting_create_pool(*args: Any, **kwargs: Any) -> Any:
        pools.append(str(args[0] if args else kwargs.get("dsn")))
        return real_create_pool(*args, **kwargs)

    monkeypatch.setattr(asyncpg, "create_pool", counting_create_pool)
    sep = "&" if "?" in dsn else "?"
    app = build_app(load_config(_config(tmp_path, f"{dsn}{sep}schema={schema}")))
    try:
        await _run_a_request(app)
        assert len(pools) == 1, pools
        assert not [key for key in SharedPool._open if key[2] == schema], "the last store closes the pool"
    finally:
        conn = await asyncpg.connect(dsn)
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()
