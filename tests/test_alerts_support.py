"""Shared fixtures for the alert tests: outbox stores on SQLite and a real PostgreSQL, and a real
webhook receiver (uvicorn on 127.0.0.1 in a thread) whose answers each test scripts.

This module holds no tests itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.postgres.alerts_outbox import PostgresOutboxStore
from adapters.sqlite.alerts_outbox import SqliteOutboxStore
from middleware.alerts.models import Attempt
from middleware.alerts.store import OutboxStore
from tests.services import shared_stores
from tests.stubs import ServerThread

SECRET = b"whsec-test-0123456789abcdef"
OutboxFactory = Callable[[], Awaitable[OutboxStore]]


@dataclass
class Received:
    at: float
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A webhook endpoint: answers with the scripted statuses (then 200), records every request."""

    statuses: deque[int] = field(default_factory=deque)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def script(self, *statuses: int) -> None:
        self.statuses.extend(statuses)

    def count(self) -> int:
        with self.lock:
            return len(self.received)

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            body = await request.body()
            with self.lock:
                self.received.append(Received(time.monotonic(), dict(request.headers), body))
                status = self.statuses.popleft() if self.statuses else 200
            return Response(b"{}" if status < 300 else b"unavailable", status_code=status)

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


@contextlib.contextmanager
def running_receiver() -> Iterator[Receiver]:
    """A webhook receiver served on loopback (``receiver.url``) for as long as the block runs."""
    receiver = Receiver()
    with ServerThread(receiver.app()) as server:
        receiver.url = f"{server.url}/hook"
        yield receiver


def emptied(receiver: Receiver) -> Receiver:
    """``receiver`` with nothing received yet: what each test starts from."""
    receiver.statuses.clear()
    receiver.received.clear()
    return receiver


@pytest.fixture(scope="module")
def _receiver_server() -> Iterator[Receiver]:
    with running_receiver() as receiver:
        yield receiver


@pytest.fixture
def receiver(_receiver_server: Receiver) -> Receiver:
    return emptied(_receiver_server)


@pytest.fixture(params=["sqlite", "postgres"])
async def new_outbox_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[OutboxFactory]:
    """An async factory of opened outbox stores sharing one database (a restart, or replicas)."""
    if request.param == "postgres":
        request.applymarker(pytest.mark.services)
    async with shared_stores(request.param, tmp_path, "alerts_t", SqliteOutboxStore,
                             PostgresOutboxStore) as make:
        yield make

class Attempts:
    """An ``on_attempt`` hook that keeps the attempts and lets a test wait for the n-th one."""

    def __init__(self) -> None:
        self.items: list[Attempt] = []
        self._changed = asyncio.Event()

    async def __call__(self, attempt: Attempt) -> None:
        self.items.append(attempt)
        self._changed.set()

    async def wait_for(self, predicate: Callable[[list[Attempt]], bool], limit: float = 30.0) -> None:
        async with asyncio.timeout(limit):
            while not predicate(self.items):
                self._changed.clear()
                await self._changed.wait()
