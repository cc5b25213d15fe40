"""The registries' tables written once (adapters/stores/schemas.py): each dialect gets its own types, and the
statements only one dialect has."""

from __future__ import annotations

import sqlite3

from adapters.stores.schemas import ALERTS_OUTBOX, AUDIT_ROLLUP, HANDOVERS, LIKENESS, PROFILES, render


def test_types_are_filled_per_dialect() -> None:
    sqlite, postgres = render(PROFILES, "sqlite")[0][0], render(PROFILES, "postgres")[0][0]
    assert "guardian_consent INTEGER" in sqlite and "guardian_consent BOOLEAN" in postgres
    assert "{" not in sqlite + postgres


def test_dialect_only_statements_go_to_their_dialect() -> None:
    sqlite = " ".join(render(LIKENESS, "sqlite")[0])
    postgres = " ".join(render(LIKENESS, "postgres")[0])
    assert "RAISE(ABORT" in sqlite and "plpgsql" not in sqlite
    assert "plpgsql" in postgres and "RAISE(ABORT" not in postgres


def test_every_sqlite_rendering_runs_on_sqlite() -> None:
    db = sqlite3.connect(":memory:")
    for migrations in (LIKENESS, PROFILES, ALERTS_OUTBOX, [HANDOVERS], [AUDIT_ROLLUP]):
        for migration in render(migrations, "sqlite"):
            for statement in migration:
                db.execute(statement)
    with_trigger = db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'").fetchone()[0]
    assert with_trigger == 4


def test_the_rollup_tables_differ_only_where_the_dialects_do() -> None:
    sqlite, postgres = " ".join(render([AUDIT_ROLLUP], "sqlite")[0]), " ".join(render([AUDIT_ROLLUP], "postgres")[0])
    assert "WITHOUT ROWID" in sqlite and "WITHOUT ROWID" not in postgres
    assert "seq INTEGER NOT NULL" in sqlite and "seq BIGINT NOT NULL" in postgres
