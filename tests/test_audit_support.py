"""Shared fixtures and helpers of the audit tests (imported by the other test_audit_* modules).

``backend`` runs a test against SQLite (a temporary file) and against a real PostgreSQL (a schema of
its own, dropped afterwards).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from adapters.postgres.audit import PostgresAuditStore
from adapters.sqlite.audit import SQLiteAuditStore
from middleware.audit.events import EventDraft, new_event_id
from middleware.audit.keys import AuditKeys
from middleware.audit.log import AuditLog, LogSettings
from middleware.audit.store import AuditStore, StoreUnavailable
from tests.services import require_postgres


@dataclass
class Backend:
    name: str
    url: str
    tmp: Path
    dsn: str | None = None
    schema: str | None = None

    def store(self) -> AuditStore:
        if self.name == "sqlite":
            return SQLiteAuditStore(self.url)
        return PostgresAuditStore(self.url)

    async def sql(self, statement: str, *args: Any) -> list[tuple[Any, ...]]:
        """Run SQL straight against the database, as an intruder (or a test) would."""
        if self.name == "sqlite":
            with sqlite3.connect(self.tmp / "audit.db") as conn:
                return [tuple(r) for r in conn.execute(statement, args).fetchall()]
        n = 0

        def dollar(_: Any) -> str:
            nonlocal n
            n += 1
            return f"${n}"

        import re

        conn = await asyncpg.connect(self.dsn, server_settings={"search_path": self.schema or "public"})
        try:
            rows = await conn.fetch(re.sub(r"\?", dollar, statement), *args)
            return [tuple(r) for r in rows]
        finally:
            await conn.close()


@pytest.fixture(name="backend", params=["sqlite", "postgres"])
async def backend_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "sqlite":
        yield Backend("sqlite", f"sqlite:///{tmp_path}/audit.db", tmp_path)
        return
    dsn = require_postgres()
    schema = f"audit_test_{os.getpid()}_{os.urandom(4).hex()}"
    sep = "&" if "?" in dsn else "?"
    yield Backend("postgres", f"{dsn}{sep}schema={schema}", tmp_path, dsn=dsn, schema=schema)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


@pytest.fixture(name="keys")
def keys_fixture() -> AuditKeys:
    return AuditKeys.generate()


def settings(tmp: Path, **kw: Any) -> LogSettings:
    base: dict[str, Any] = {"spool_dir": tmp / "spool", "checkpoint_every": 10, "checkpoint_interval": 3600,
                            "timeout": 5.0, "retry_interval": 0.05}
    base.update(kw)
    return LogSettings(**base)


def draft(i: int = 0, *, kind: str = "exchange", user: str | None = "alice", session: str | None = "s1",
          content: dict[str, Any] | None = None, fail_mode: str = "closed", **kw: Any) -> EventDraft:
    fields: dict[str, Any] = {
        "decisions": [{"rule": "disclosure", "cites": ["ANTH-DISC-1"], "outcome": "applied",
                       "detail": {"n": i, "age_band": "adult"}}],
        "notices": [{"kind": "ai_disclosure", "text": "AI"}], "status": 200, "latency_ms": 1.5,
        "upstream_model": "stub", "policy_id": "cn-anthropomorphic-2026", "policy_version": "sha256:test",
    }
    fields.update(kw)
    return EventDraft(event_id=new_event_id(), kind=kind, app_id="demo-app", user_id=user, session_id=session,
                      content=content, fail_mode=fail_mode, **fields)  # type: ignore[arg-type]


class FaultyStore:
    """Fault injection: wraps a real store; while ``down`` every call fails like a lost database."""

    def __init__(self, inner: AuditStore) -> None:
        self.inner = inner
        self.down = False
        self.url = inner.url
        self.appends = 0

    def __getattr__(self, name: str) -> Callable[..., Any]:
        attr = getattr(self.inner, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            if self.down and name != "close":
                raise StoreUnavailable("injected fault: store down")
            if name == "append":
                self.appends += 1
            return await attr(*args, **kwargs)

        return call


async def open_log(backend: Backend, keys: AuditKeys, store: AuditStore | None = None, **kw: Any) -> AuditLog:
    stream = kw.pop("stream", None)
    return await AuditLog.start(store or backend.store(), keys, settings(backend.tmp, **kw), stream=stream)


async def fresh_store(backend: Backend) -> AuditStore:
    store = backend.store()
    await store.open()
    return store


@pytest.fixture(name="sqlite_log")
async def sqlite_log_fixture(tmp_path: Path, keys: AuditKeys) -> AsyncIterator[AuditLog]:
    """An audit log on a temporary SQLite file, for the unit tests of what reads it."""
    log = await open_log(Backend("sqlite", f"sqlite:///{tmp_path}/audit.db", tmp_path), keys)
    try:
        yield log
    finally:
        await log.close()


def conversation(user: str, reply: str, *, label: str | None = "AI生成", said: str = "你好",
                 kind: str = "exchange", app: str = "demo-app", session: str | None = "s1") -> EventDraft:
    """An exchange event whose content is a user turn and a reply, labelled as the labels rule records it."""
    decisions: list[dict[str, Any]] = []
    if label is not None:
        decisions.append({"rule": "labels", "cites": ["LABEL-TEXT-1"], "outcome": "labelled",
                          "detail": {"explicit": label, "implicit": {"Label": "1", "ContentProducer": "OP"}}})
    return EventDraft(event_id=new_event_id(), kind=kind, app_id=app, user_id=user, session_id=session,
                      content={"messages": [{"role": "system", "content": "be kind"},
                                            {"role": "user", "content": said}], "reply": reply},
                      decisions=decisions, status=200, fail_mode="closed")
