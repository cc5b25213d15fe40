"""Which store a database URL names: every store in the audit database is chosen the same way.

``sqlite:///path`` (relative paths resolve against the config file's directory, like every path in
candor.yaml; ``sqlite:///:memory:`` stays in memory) or ``postgresql://...?schema=NAME`` (Candor's
tables in that schema; see ``adapters.postgres.url``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from adapters.postgres.url import split_pg_url
from adapters.sqlite.db import sqlite_path
from middleware.config.deployment import CandorConfig

L = TypeVar("L")   # the SQLite store class
P = TypeVar("P")   # the PostgreSQL store class


def choose_store(cfg: CandorConfig, url: str | None, *, sqlite: Callable[[Path | str], L],
                 postgres: Callable[..., P]) -> L | P:
    """``sqlite(path)`` or ``postgres(dsn, schema=...)`` for ``url`` (default ``cfg.audit.url``); not opened."""
    url = url or cfg.audit.url
    if url.startswith("sqlite:"):
        path = sqlite_path(url)
        return sqlite(path if path == ":memory:" else cfg.resolve_path(path))
    if url.startswith(("postgresql://", "postgres://")):
        dsn, schema = split_pg_url(url)
        return postgres(dsn, schema=schema)
    raise ValueError(f"unsupported store URL {url!r}: use sqlite:///path/to/audit.db or postgresql://...")
