"""What the SQLite stores share: the URL syntax, one connection on one worker thread, migrations.

Every store that keeps tables in the audit log's database file (persona registry, profiles, alert
outbox, hand-overs) uses stdlib ``sqlite3`` on ONE connection per file and process, owned by one
worker thread and shared by all those stores (``SharedSqlite``, reference-counted): calls are
serialised there, so the event loop never blocks on disk and no two statements race on the
connection. WAL lets other processes (replicas, the CLI) read while one writes; ``busy_timeout``
makes writers wait their turn. Transactions are explicit (``BEGIN IMMEDIATE`` for writes), never
implicit. The audit store has its own two-connection plumbing (``audit_sqlite.py``) but shares the
migration runner.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

T = TypeVar("T")


def sqlite_path(url: str) -> str:
    """``sqlite:///rel/path.db`` (relative), ``sqlite:////abs/path.db``, ``sqlite:///:memory:``."""
    if not url.startswith("sqlite://"):
        raise ValueError(f"not a sqlite URL: {url!r}")
    rest = url[len("sqlite://"):].split("?", 1)[0]  # options are the audit store's business
    if not rest.startswith("/"):
        raise ValueError(f"{url!r}: write sqlite:///relative/path.db or sqlite:////absolute/path.db")
    return rest[1:]


def transaction(db: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T], *, write: bool = True) -> T:
    """Run ``fn`` in one transaction: ``BEGIN IMMEDIATE`` (the write lock at once) or a plain read one."""
    db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
    try:
        result = fn(db)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return result


def migrate(db: sqlite3.Connection, version_table: str, migrations: Sequence[Sequence[str]], *,
            stamped: bool = True) -> None:
    """Apply the migrations past the version recorded in ``version_table``, all in one write transaction.

    Each migration is a list of statements applied with its version row. ``stamped``: the version
    table also records when (``applied_at``, epoch µs); the audit log's older ``audit_schema`` does not."""
    columns = "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL" if stamped else "version INTEGER NOT NULL"

    def apply(c: sqlite3.Connection) -> None:
        c.execute(f"CREATE TABLE IF NOT EXISTS {version_table} ({columns})")
        current = c.execute(f"SELECT COALESCE(MAX(version), 0) FROM {version_table}").fetchone()[0]
        for version, statements in enumerate(migrations[current:], start=current + 1):
            for statement in statements:
                c.execute(statement)
            if stamped:
                c.execute(f"INSERT INTO {version_table} VALUES (?, ?)", (version, int(time.time() * 1e6)))
            else:
                c.execute(f"INSERT INTO {version_table} (version) VALUES (?)", (version,))

    transaction(db, apply)


class SharedSqlite:
    """One connection to one database file, on one thread, shared by every store of the process that
    opens the same file. The strictest ``synchronous`` and ``foreign_keys`` any of them asks for apply."""

    _open: ClassVar[dict[str, SharedSqlite]] = {}
    _durability: ClassVar[dict[str, int]] = {"NORMAL": 1, "FULL": 2}

    def __init__(self, path: str) -> None:
        self.path = path
        self.refs = 0
        self.conn: sqlite3.Connection | None = None
        self.synchronous = "NORMAL"
        self.foreign_keys = False
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="candor-sqlite")
        self.executor.submit(self._connect)   # first on the thread: every later call finds it connected

    @classmethod
    def acquire(cls, path: str, *, synchronous: str, foreign_keys: bool) -> SharedSqlite:
        key = path if path == ":memory:" else str(Path(path).resolve())
        shared = None if path == ":memory:" else cls._open.get(key)
        if shared is None:
            shared = cls(path)
            if path != ":memory:":
                cls._open[key] = shared
        shared.refs += 1
        shared.executor.submit(shared._require, synchronous, foreign_keys)
        return shared

    async def release(self) -> None:
        """One user fewer; the last one closes the connection (and no later opener finds it)."""
        self.refs -= 1
        if self.refs > 0:
            return
        for key, shared in list(self._open.items()):
            if shared is self:
                del self._open[key]
        self.executor.submit(self._close)
        await asyncio.get_running_loop().run_in_executor(None, self.executor.shutdown)

    @classmethod
    def open_count(cls) -> int:
        return len(cls._open)

    def _connect(self) -> None:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # autocommit mode: transactions are explicit (BEGIN IMMEDIATE), never implicit
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 5000")
        if self.path != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {self.synchronous}")
        self.conn = conn

    def _require(self, synchronous: str, foreign_keys: bool) -> None:
        assert self.conn is not None
        if self._durability[synchronous] > self._durability[self.synchronous]:
            self.synchronous = synchronous
            if self.path != ":memory:":
                self.conn.execute(f"PRAGMA synchronous = {synchronous}")
        if foreign_keys and not self.foreign_keys:
            self.foreign_keys = True
            self.conn.execute("PRAGMA foreign_keys = ON")

    def _close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class SqliteStore:
    """Base of a store on the process's one connection to its SQLite file (``SharedSqlite``).

    Subclasses choose ``synchronous`` (``FULL`` where a row must survive a power cut once the call
    returns) and set up their tables in ``_setup`` (run on the connection's thread at open)."""

    synchronous: ClassVar[Literal["NORMAL", "FULL"]] = "NORMAL"
    foreign_keys: ClassVar[bool] = False

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._shared: SharedSqlite | None = None

    def _setup(self, db: sqlite3.Connection) -> None:
        """Create or migrate the store's tables."""

    async def _run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` on the connection's thread."""
        if self._shared is None:
            raise RuntimeError(f"{type(self).__name__} used before open()")
        return await asyncio.get_running_loop().run_in_executor(self._shared.executor,
                                                                 partial(fn, *args, **kwargs))

    @property
    def _db(self) -> sqlite3.Connection:
        assert self._shared is not None and self._shared.conn is not None
        return self._shared.conn

    def _transaction(self, fn: Callable[[sqlite3.Connection], T], *, write: bool = True) -> T:
        return transaction(self._db, fn, write=write)

    def _one(self, sql: str, params: tuple[Any, ...]) -> Any:
        return self._db.execute(sql, params).fetchone()

    def _all(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        return self._db.execute(sql, params).fetchall()

    async def open(self) -> None:
        if self._shared is not None:
            return
        self._shared = SharedSqlite.acquire(self.path, synchronous=self.synchronous,
                                            foreign_keys=self.foreign_keys)
        try:
            await self._run(lambda: self._setup(self._db))
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        shared, self._shared = self._shared, None
        if shared is not None:
            await shared.release()
