"""Running the server: checks that fail before any worker starts, and uvicorn tuned for a proxy."""

from __future__ import annotations

import os

import uvicorn

from .app import CandorASGI
from .config import CandorConfig, load_config
from .logs import configure


def preflight(cfg: CandorConfig) -> str | None:
    """Fail early, with the config's own words, on what would make every worker fail.

    Returns the development app key when the built-in defaults are in use."""
    from adapters.routes import RouteError, resolve_routes
    from adapters.wiring import DEV_KEY_ENV, dev_app

    from .auth import KeyError_, load_apps
    from .policy.registry import PolicyRegistry, UnknownPolicyError
    from .yamlfile import FileProblems

    try:
        resolve_routes(cfg)
        load_apps(cfg.apps)
        PolicyRegistry.from_config(cfg)
    except (RouteError, KeyError_, UnknownPolicyError) as exc:
        raise SystemExit(f"candor: cannot start: {exc}") from None
    except FileProblems as exc:
        lines = "\n".join(f"  {p}" for p in exc.problems)
        count = len(exc.problems)
        raise SystemExit(f"candor: cannot start: the policy files have {count} problem(s):\n{lines}") from None
    if cfg.apps:
        return None
    _, key = dev_app("cn-anthropomorphic-2026")
    os.environ[DEV_KEY_ENV] = key
    return key


def app_factory() -> CandorASGI:
    """Called by uvicorn in each worker process."""
    from .app import create_app

    cfg = load_config(os.environ.get("CANDOR_CONFIG") or None)
    configure(cfg.server.log_level)
    return create_app(cfg)


def run(cfg: CandorConfig) -> None:
    configure(cfg.server.log_level)
    uvicorn.run(
        "middleware.serve:app_factory", factory=True,
        host=cfg.server.host, port=cfg.server.port, workers=cfg.server.workers,
        loop="uvloop", http="httptools", lifespan="on",
        access_log=False, log_level="warning", server_header=False, date_header=False,
        timeout_keep_alive=30, backlog=2048, proxy_headers=False,
    )
