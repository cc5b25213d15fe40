"""PostgreSQL URLs (adapters/postgres/url.py) and the store chosen for a URL (adapters/stores/url.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adapters.postgres.url import split_pg_url
from adapters.stores.url import choose_store
from middleware.config.deployment import CandorConfig


def test_the_schema_leaves_the_dsn_and_is_checked() -> None:
    dsn, schema = split_pg_url("postgres://u@h:5432/db?schema=candor&sslmode=disable")
    assert dsn == "postgresql://u@h:5432/db?sslmode=disable" and schema == "candor"
    with pytest.raises(ValueError):
        split_pg_url("postgresql://h/db?schema=x;drop")


def test_a_url_picks_its_kind_of_store() -> None:
    def sqlite(path: Path | str) -> tuple[str, Any]:
        return ("sqlite", path)

    def postgres(dsn: str, schema: str | None = None) -> tuple[str, Any]:
        return ("postgres", schema)

    cfg = CandorConfig()
    assert choose_store(cfg, "sqlite:///x.db", sqlite=sqlite, postgres=postgres)[0] == "sqlite"
    assert choose_store(cfg, "postgresql://h/db?schema=s", sqlite=sqlite, postgres=postgres) == ("postgres", "s")
    with pytest.raises(ValueError):
        choose_store(cfg, "mysql://h/db", sqlite=sqlite, postgres=postgres)
