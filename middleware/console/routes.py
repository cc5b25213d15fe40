"""``console_routes``: every route of the console, ready to add to the app's routes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from middleware.console.auth_pages import auth_routes
from middleware.console.deps import ConsoleDeps
from middleware.console.event_pages import event_routes
from middleware.console.integrity_pages import integrity_routes
from middleware.console.ops_pages import ops_routes
from middleware.console.overview import Rollup
from middleware.console.overview_pages import IntegrityState, overview_routes
from middleware.console.session import Sessions
from middleware.console.web import HERE, PREFIX, Guard, api_error, secure

_STATIC = {"console.css": "text/css", "console.js": "text/javascript", "chart.umd.min.js": "text/javascript",
           "chart.js.LICENSE.md": "text/markdown"}


def _static_route() -> Route:
    """The console's own files (public: a stylesheet and scripts, nothing about the log). Read once."""
    files = {name: (HERE / "static" / name).read_bytes() for name in _STATIC}

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in files:
            return api_error(404, "not_found", f"no static file {name!r}")
        return secure(Response(files[name], media_type=_STATIC[name],
                               headers={"cache-control": "public, max-age=3600"}))

    return Route(f"{PREFIX}/static/{{name}}", static, methods=["GET"])


@dataclass(frozen=True, slots=True)
class Console:
    """The console's routes, and the start-up and shut-down of the background work that keeps its
    overview rollup up to date (``Rollup.keep_up``)."""

    routes: list[BaseRoute]
    start: Callable[[], Awaitable[None]]
    stop: Callable[[], Awaitable[None]]


def console_routes(deps: ConsoleDeps) -> list[BaseRoute]:
    return build_console(deps).routes


def build_console(deps: ConsoleDeps) -> Console:
    cfg = deps.config
    guard = Guard(deps, Sessions(cfg.admin.key_env, cfg.admin.auditor_key_env))
    state = IntegrityState()
    rollup = Rollup()   # kept in the audit database: each refresh reads only the events since the last (any process's)
    warming: set[asyncio.Task[int]] = set()

    def warm_up() -> None:
        """A sign-in starts bringing the rollup up to date, so the overview it lands on is ready sooner."""
        task = asyncio.create_task(rollup.refresh(deps.audit().store))
        warming.add(task)
        task.add_done_callback(warming.discard)

    guard.on_signin = warm_up
    keeping: list[asyncio.Task[None]] = []

    async def start() -> None:
        keeping.append(asyncio.create_task(rollup.keep_up(lambda: deps.audit().store)))

    async def stop() -> None:
        while keeping:
            task = keeping.pop()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    routes: list[BaseRoute] = [
        _static_route(),
        *auth_routes(guard),
        *overview_routes(guard, deps, state, rollup),
        *event_routes(guard, deps),
        *integrity_routes(guard, deps, state),
        *ops_routes(guard, deps),
    ]
    return Console(routes, start, stop)
