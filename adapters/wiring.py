"""The composition root: builds a running Candor from a deployment config.

This is the one module that knows every concrete adapter; the engine (``middleware``) sees only the
interfaces in ``middleware.services`` and friends.
"""

from __future__ import annotations

import os
import secrets
import uuid
from typing import Any

from middleware.auth import App, AppKeys, load_apps
from middleware.config import CandorConfig
from middleware.errors import CandorError
from middleware.exchange import Exchange
from middleware.metrics import UPSTREAM_ERRORS
from middleware.pipeline import Pipeline
from middleware.rules.base import RuleSet
from middleware.services import Services
from middleware.upstream import ModelRoute, Upstream

from .routes import resolve_routes
from .upstreams import build_upstreams

DEV_KEY_ENV = "CANDOR_DEV_APP_KEY"


def dev_app(policy: str, environ: dict[str, str] | None = None) -> tuple[App, str]:
    """The development app of the built-in defaults: key from ``$CANDOR_DEV_APP_KEY`` or a fresh one."""
    import hashlib

    env = os.environ if environ is None else environ
    key = env.get(DEV_KEY_ENV) or "candor-dev-" + secrets.token_urlsafe(24)
    return App(id="dev", policy=policy, key_sha256=hashlib.sha256(key.encode()).digest()), key


class _InterimPolicy:
    id = "cn-anthropomorphic-2026"
    version = "sha256:" + "0" * 64


class _InterimPolicies:
    def get(self, policy_id: str) -> Any:
        return _InterimPolicy()


class _NoRecorder:
    async def record(self, ex: Exchange, error: CandorError | None = None) -> None:
        return None


class _HeaderSessions:
    async def resolve(self, ex: Exchange) -> None:
        ex.ctx.session_id = ex.ctx.session_hint or uuid.uuid4().hex


def build_services(cfg: CandorConfig, *, upstream_override: Upstream | None = None) -> Services:
    default_policy = "cn-anthropomorphic-2026"
    apps = load_apps(cfg.apps) if cfg.apps else [dev_app(default_policy)[0]]
    routes = resolve_routes(cfg)
    upstreams: dict[str, Upstream]
    if upstream_override is not None:
        upstreams = {r.adapter: upstream_override for r in routes.values()}
    else:
        upstreams = build_upstreams(routes)

    def count_upstream_error(route: ModelRoute, err: CandorError) -> None:
        UPSTREAM_ERRORS.labels(route.name, err.code).inc()

    empty = RuleSet()
    pipeline = Pipeline(
        routes=routes, upstreams=upstreams, rules_for=lambda policy: empty, recorder=_NoRecorder(),
        sessions=_HeaderSessions(), new_event_id=lambda: uuid.uuid4().hex,
        upstream_error_hook=count_upstream_error,
    )

    async def close_upstreams() -> None:
        for up in set(upstreams.values()):
            await up.aclose()

    return Services(config=cfg, keys=AppKeys(apps), pipeline=pipeline, policies=_InterimPolicies(),
                    default_policy=default_policy, on_shutdown=[close_upstreams])
