"""Crisis hand-over (ANTH-CRISIS-3): a session whose model is paused until an operator releases it.

Where the paused set lives: a small table, ``handovers``, in the audit database (SQLite or
PostgreSQL; ``adapters/stores/handover.py``). Not the session state store: that one may be in memory,
and a restart must not silently hand a person in crisis back to the model. The database is what
every replica already shares, and the pause is committed before the hand-over reply is sent.

Reading it on every request would cost a database round trip, so each process keeps the active set
in memory (a lookup is a set membership test) and refreshes it from the table every ``poll``
seconds (0.5 s): a pause or a release made by another replica is seen within that time; one made by
this process is seen at once.

A session is named by the app (``X-Candor-Session``) or by Candor, so its id alone is not unique
across users; rows are keyed by a hash of the user's state scope and the session id. Release
names the session id (``POST /admin/sessions/{id}/release``, optionally ``?app=``) and releases
every paused row with that id.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import structlog
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from middleware.config.deployment import CandorConfig
from middleware.http.admin_auth import guarded, json_response
from middleware.http.errors import CandorError, invalid_request

log = structlog.get_logger("candor.handover")


@dataclass(frozen=True, slots=True)
class Handover:
    scope_hash: str
    session_id: str
    app_id: str | None
    event_id: str | None     # the crisis event that started it
    created_at: float        # epoch seconds


class HandoverStore(Protocol):
    async def open(self) -> None: ...

    async def pause(self, handover: Handover) -> None:
        """Record the pause durably; a session already paused stays paused (no error)."""
        ...

    async def release(self, session_id: str, app_id: str | None, actor: str, at: float) -> list[Handover]:
        """End every active pause of ``session_id`` (of ``app_id`` if given); the ones ended."""
        ...

    async def active(self) -> list[tuple[str, str]]:
        """(scope_hash, session_id) of every paused session."""
        ...

    async def close(self) -> None: ...


def scope_hash(scope: str) -> str:
    """Rows name the user's scope by hash: the table holds no raw user id."""
    return hashlib.sha256(scope.encode()).hexdigest()[:32]


OnRelease = Callable[[list[Handover], str], Awaitable[None]]


class HandoverRegistry:
    def __init__(self, store: HandoverStore, *, poll: float = 0.5,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self._poll = poll
        self._clock = clock
        self._active: set[tuple[str, str]] = set()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._active = set(await self.store.active())
        self._task = asyncio.create_task(self._refresh())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
            self._task = None

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(self._poll)
            try:
                self._active = set(await self.store.active())
            except Exception as exc:   # keep the last known set: a paused session stays paused
                log.warning("handover_refresh_failed", error=repr(exc))

    def paused(self, scope: str, session_id: str) -> bool:
        return (scope_hash(scope), session_id) in self._active

    async def pause(self, scope: str, session_id: str, *, app_id: str | None, event_id: str | None,
                    now: float) -> None:
        key = (scope_hash(scope), session_id)
        await self.store.pause(Handover(key[0], session_id, app_id, event_id, now))
        self._active.add(key)

    async def release(self, session_id: str, app_id: str | None, actor: str) -> list[Handover]:
        ended = await self.store.release(session_id, app_id, actor, self._clock())
        for h in ended:
            self._active.discard((h.scope_hash, h.session_id))
        return ended


def handover_routes(get_registry: Callable[[], HandoverRegistry], cfg: CandorConfig,
                    on_release: OnRelease | None = None) -> list[Route]:
    """``POST /admin/sessions/{session_id}/release`` (admin key): end a crisis hand-over."""

    async def release(request: Request) -> Response:
        session_id = request.path_params["session_id"]
        if not session_id or len(session_id) > 256:
            raise invalid_request("invalid session id", param="session_id")
        app_id = request.query_params.get("app") or None
        ended = await get_registry().release(session_id, app_id, "admin-api")
        if not ended:
            raise CandorError(404, "session_not_paused",
                              f"session {session_id!r} is not handed over (nothing to release)")
        if on_release is not None:
            await on_release(ended, "admin-api")
        return json_response({"object": "session_release", "session_id": session_id, "released": len(ended),
                              "apps": sorted({h.app_id or "" for h in ended})})

    return [Route("/admin/sessions/{session_id}/release", guarded(release, cfg, write=True), methods=["POST"])]
