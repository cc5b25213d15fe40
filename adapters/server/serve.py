"""Running the server: checks that fail before any worker starts, and uvicorn tuned for a proxy."""

from __future__ import annotations

import os
import tempfile

import uvicorn

from middleware.config.deployment import CandorConfig, load_config
from middleware.http.app import CandorASGI
from middleware.logs import configure


def serve(cfg: CandorConfig) -> int:
    """``candor serve``: the checks, the start-up banner (with the development key), then uvicorn."""
    from middleware import __version__

    dev_key = preflight(cfg)
    if cfg.server.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="candor-metrics-")
    base = f"http://{cfg.server.host}:{cfg.server.port}/v1"
    print(f"Candor {__version__} serving {base} ({cfg.server.workers} worker(s))", flush=True)
    print(f"  config: {cfg.source or 'built-in defaults'}; models: {', '.join(m.name for m in cfg.models)}",
          flush=True)
    if cfg.server.workers > 1 and cfg.state.url.startswith("memory:"):
        print("  warning: state.url is memory://, so each worker keeps its own session clocks (a user may see a "
              "disclosure or reminder once per worker); use redis:// for several workers", flush=True)
    from middleware.detectors.features import ACCELERATED
    from middleware.detectors.textnorm import COMPILED_FOLD

    if not ACCELERATED or not COMPILED_FOLD:
        print("  note: the detectors' C speed-ups do not serve (not built: no C compiler at install, or "
              "CANDOR_PURE_FEATURES=1): the featuriser runs in numpy and the folding in str.translate; the "
              "judgments are the same, each new text costs ~40 µs more", flush=True)
    if dev_key:
        print(f"  development app key: {dev_key}", flush=True)
        print(f"  try: OpenAI(base_url=\"{base}\", api_key=\"{dev_key}\")", flush=True)
    run(cfg)
    return 0


def preflight(cfg: CandorConfig) -> str | None:
    """Fail early, with the config's own words, on what would make every worker fail.

    Returns the development app key when the built-in defaults are in use."""
    from adapters.server.dev_key import DEV_KEY_ENV, stable_dev_key
    from adapters.upstream.routes import RouteError, resolve_routes
    from middleware.config.yamlfile import FileProblems
    from middleware.http.auth import KeyError_, load_apps
    from middleware.policy.registry import PolicyRegistry, UnknownPolicyError

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
    _check_stores(cfg)
    if cfg.apps:
        return None
    key = stable_dev_key(cfg)
    os.environ[DEV_KEY_ENV] = key   # every worker reads it from here
    return key


def _check_stores(cfg: CandorConfig) -> None:
    """The audit keys, the database and Redis, checked once in plain words before any worker starts
    (inside a worker a failure would only be a traceback in the middle of uvicorn's start-up log)."""
    import asyncio

    from middleware.audit.keys import AuditKeyError, load_keys

    try:
        load_keys(cfg)
    except AuditKeyError as exc:
        raise SystemExit(f"candor: cannot start: {exc}") from None
    problem = asyncio.run(_reach(cfg))
    if problem:
        raise SystemExit(f"candor: cannot start: {problem}")


async def _reach(cfg: CandorConfig) -> str | None:
    from urllib.parse import urlsplit

    db = cfg.audit.url
    if db.startswith(("postgresql:", "postgres:")):
        import asyncpg

        from adapters.postgres.url import split_pg_url

        dsn, _ = split_pg_url(db)
        try:
            conn = await asyncpg.connect(dsn, timeout=5)
            await conn.close()
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            where = urlsplit(dsn).netloc.rpartition("@")[2]
            return (f"the database of audit.url ({where}) cannot be reached: {exc}. The audit log, personas, "
                    "consents, profiles and alerts live there: start it or fix audit.url")
    if cfg.state.url.startswith(("redis:", "rediss:", "unix:")):
        import redis.asyncio as aioredis

        client = aioredis.from_url(cfg.state.url, socket_connect_timeout=5)
        try:
            await client.ping()
        except (OSError, aioredis.RedisError) as exc:
            where = urlsplit(cfg.state.url).netloc.rpartition("@")[2]
            return f"the session store of state.url ({where}) cannot be reached: {exc}. Start Redis or fix state.url"
        finally:
            await client.aclose()
    return None


def app_factory() -> CandorASGI:
    """Called by uvicorn in each worker process."""
    from adapters.root import build_app, install

    install()   # a worker process of its own needs the composition root too (config check uses it)
    cfg = load_config(os.environ.get("CANDOR_CONFIG") or None)
    configure(cfg.server.log_level)
    return build_app(cfg)


def raise_fd_limit(needed: int) -> int:
    """Raise this process's soft limit on open files towards ``needed`` (at most the hard limit); workers
    inherit it. Each request in flight holds two sockets (the client's and the provider's), and the
    common default soft limit (1,024) would refuse connections long before ``server.max_in_flight``.
    Returns the soft limit now in force."""
    try:
        import resource
    except ImportError:   # not on this platform
        return needed
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if soft != resource.RLIM_INFINITY and soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            soft = want
        except (ValueError, OSError):
            pass
    return soft


def run(cfg: CandorConfig) -> None:
    from adapters.server.http_protocol import BoundedHttpToolsProtocol

    configure(cfg.server.log_level)
    # client + provider socket per request, the listening backlog, and room for files and databases
    fds = raise_fd_limit(2 * max(cfg.server.max_in_flight, cfg.upstream.max_connections) + cfg.server.backlog + 256)
    if fds < 2 * cfg.server.max_in_flight:
        print(f"  warning: the open-file limit is {fds}: fewer than 2 x server.max_in_flight "
              f"({cfg.server.max_in_flight}); raise it (ulimit -n) or lower max_in_flight", flush=True)
    uvicorn.run(
        "adapters.server.serve:app_factory", factory=True,
        host=cfg.server.host, port=cfg.server.port, workers=cfg.server.workers,
        loop="uvloop", http=BoundedHttpToolsProtocol, lifespan="on",
        access_log=False, log_level="warning", server_header=False, date_header=False,
        timeout_keep_alive=max(1, round(cfg.server.keep_alive)), backlog=cfg.server.backlog, proxy_headers=False,
    )
