"""The console's route table (middleware/console/routes.py): each area's pages come from its own module,
and every route but sign-in and the static files sits behind the session guard."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from middleware.config.deployment import CandorConfig
from middleware.console import auth_pages, event_pages, integrity_pages, ops_pages, overview_pages
from middleware.console.deps import ConsoleDeps
from middleware.console.routes import console_routes
from middleware.policy.registry import PolicyRegistry


def _routes() -> list[Route]:
    cfg = CandorConfig()

    def no_audit() -> Any:
        raise RuntimeError("not needed to build the table")

    deps = ConsoleDeps(config=cfg, audit=no_audit, policies=PolicyRegistry.from_config(cfg))
    return [r for r in console_routes(deps) if isinstance(r, Route)]


def test_every_area_contributes_its_pages_under_the_console_prefix() -> None:
    routes = _routes()
    assert all(r.path.startswith("/console") for r in routes)
    paths = {r.path for r in routes}
    for module in (auth_pages, event_pages, integrity_pages, ops_pages, overview_pages):
        name = module.__name__.rsplit(".", 1)[-1].removesuffix("_pages")
        assert any(name in p or name == "auth" or name == "overview" for p in paths), name
    assert len(paths) >= 10


def test_writes_are_posts_and_reads_are_gets() -> None:
    for route in _routes():
        methods = route.methods or set()
        assert methods <= {"GET", "HEAD", "POST"}, (route.path, methods)
