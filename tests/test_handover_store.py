"""The crisis hand-over table on SQLite and PostgreSQL, and the registry two replicas share through it;
and ``candor user set`` writing its change to the audit log."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from adapters.stores.handover import PostgresHandoverStore, SqliteHandoverStore
from middleware.alerts.handover import HandoverRegistry, HandoverStore
from middleware.cli.main import main
from tests.services import require_postgres

Factory = Callable[[], Awaitable[HandoverStore]]


@pytest.fixture(params=["sqlite", "postgres"])
async def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Factory]:
    opened: list[HandoverStore] = []
    schema = f"handover_{secrets.token_hex(4)}"
    dsn = require_postgres() if request.param == "postgres" else ""

    async def make() -> HandoverStore:
        store: HandoverStore = SqliteHandoverStore(tmp_path / "audit.db") if request.param == "sqlite" \
            else PostgresHandoverStore(dsn, schema=schema)
        await store.open()
        opened.append(store)
        return store

    yield make
    for store in opened:
        await store.close()
    if request.param == "postgres":
        import asyncpg

        conn = await asyncpg.connect(dsn)
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()


async def until(predicate: Callable[[], bool], limit: float = 30.0) -> None:
    """Wait for ``predicate`` (a poll elsewhere), generously: another test process may share the cores."""
    async with asyncio.timeout(limit):
        while not predicate():  # noqa: ASYNC110 (a poll elsewhere)
            await asyncio.sleep(0.01)


async def test_a_pause_is_seen_by_another_replica_and_a_release_ends_it_everywhere(new_store: Factory) -> None:
    one = HandoverRegistry(await new_store(), poll=0.05)
    two = HandoverRegistry(await new_store(), poll=0.05)
    await one.start()
    await two.start()
    try:
        await one.pause("app\x1fu:rui", "s-1", app_id="app", event_id="evt-1", now=1000.0)
        await one.pause("app\x1fu:rui", "s-1", app_id="app", event_id="evt-2", now=1001.0)   # already paused
        assert one.paused("app\x1fu:rui", "s-1") and not one.paused("app\x1fu:other", "s-1")
        await until(lambda: two.paused("app\x1fu:rui", "s-1"))   # the other replica's poll (0.05 s) sees it
        assert await two.release("s-1", "other-app", "admin-api") == []
        (ended,) = await two.release("s-1", None, "admin-api")
        assert ended.event_id == "evt-1" and ended.app_id == "app"
        await until(lambda: not one.paused("app\x1fu:rui", "s-1"))
        assert not two.paused("app\x1fu:rui", "s-1")
        assert await one.release("s-1", None, "admin-api") == []
        await one.pause("app\x1fu:rui", "s-1", app_id="app", event_id="evt-3", now=1002.0)   # a new crisis
        assert one.paused("app\x1fu:rui", "s-1")
    finally:
        await one.close()
        await two.close()


def test_cli_profile_changes_are_audit_events(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "candor.yaml"
    config.write_text("audit: {url: 'sqlite:///audit.db'}\n")
    with pytest.raises(SystemExit) as done:
        main(["user", "set", "kid-7", "--age-band", "minor", "--guardian-contact", "mum 138", "--config", str(config)])
    assert done.value.code == 0
    capsys.readouterr()
    with pytest.raises(SystemExit) as done:
        main(["audit", "export", "--config", str(config)])
    assert done.value.code == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    (change,) = [r for r in rows if r["kind"] == "profile_change"]
    detail = change["decisions"][0]["detail"]
    assert detail["actor"].startswith("cli") and detail["age_band"] == "minor"
    assert detail["guardian_contact"] == "set" and change["user_ref"] and "mum" not in json.dumps(change)
