"""Live ``candor.yaml``: SIGHUP and a file watch reload apps, models and personas, atomically, with
last-known-good (as the policy registry does for policies).

A reload reads the whole file and runs the full ``candor config check``; any problem and nothing changes:
the running config stays, the problems go to the log, to ``candor_config_reloads_total{result="rejected"}``
and to the audit log. Otherwise the new app keys, model routes (with any provider adapter they newly need)
and personas are built first and swapped in with plain assignments, with no ``await`` in between: a request
sees the old set or the new one, never a mix. Every reload is audited as a ``policy_reload`` event whose
decision is ``config_reload``. Sections that need a restart (server, state, audit, alerts, admin) are not
applied; a reload that changes them says so in its record.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from prometheus_client import Counter

from adapters.server import file_poll
from adapters.upstream.build import build_upstreams
from adapters.upstream.routes import resolve_routes
from middleware.audit.events import EventDraft, new_event_id
from middleware.audit.log import AuditLog
from middleware.config.check import check_config
from middleware.config.deployment import CandorConfig, load_config
from middleware.config.yamlfile import FileProblems
from middleware.http.auth import App, load_apps
from middleware.likeness.configsync import sync_config_personas
from middleware.likeness.service import LikenessService
from middleware.pipeline.stages import Pipeline
from middleware.pipeline.upstream import Upstream
from middleware.services import Services

log = structlog.get_logger("candor.config")
RELOADS = Counter("candor_config_reloads_total", "candor.yaml reloads by outcome", ["result"])
_RESTART_ONLY = ("server", "state", "audit", "alerts", "admin", "policies_dir", "upstream")


@dataclass
class ConfigReload:
    result: str                   # applied | rejected | unchanged
    trigger: str
    problems: list[str] = field(default_factory=list)
    changes: dict[str, list[str]] = field(default_factory=dict)
    needs_restart: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.result == "rejected":
            return f"candor.yaml reload rejected ({len(self.problems)} problem(s)); the running config stays"
        if self.result == "unchanged":
            return "candor.yaml reload: nothing changed"
        parts = [f"{k}: {', '.join(v)}" for k, v in self.changes.items() if v]
        return "candor.yaml reload applied (" + ("; ".join(parts) or "no app or model changed") + ")"


class ConfigReloader:
    def __init__(self, cfg: CandorConfig, services: Services, pipeline: Pipeline, *,
                 audit: Callable[[], AuditLog | None], likeness: Callable[[], LikenessService | None],
                 policies_reload: Callable[[str], Awaitable[Any]], upstream_override: Upstream | None,
                 on_apps: Callable[[list[App]], None] | None = None) -> None:
        self.cfg = cfg
        self.path = cfg.source
        self._target = Path(cfg.source).resolve() if cfg.source else None
        # the file as it was read (a change made between reading it and starting the watch still counts)
        self._loaded = file_poll.signature(self._target) if self._target else None
        self.services = services
        self.pipeline = pipeline
        self._audit = audit
        self._likeness = likeness
        self._policies_reload = policies_reload
        self._override = upstream_override
        self._on_apps = on_apps
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()

    async def reload(self, trigger: str) -> ConfigReload:
        async with self._lock:
            outcome = await self._reload(trigger)
        RELOADS.labels(result=outcome.result).inc()
        if outcome.result == "rejected":
            log.error("config_reload", result="rejected", trigger=trigger, problems=outcome.problems)
        else:
            log.info("config_reload", result=outcome.result, trigger=trigger, changes=outcome.changes,
                     needs_restart=outcome.needs_restart)
        await self._record(outcome)
        return outcome

    async def _reload(self, trigger: str) -> ConfigReload:
        if self.path is None:
            return ConfigReload("unchanged", trigger)
        problems = await asyncio.to_thread(check_config, self.path)
        if problems:
            return ConfigReload("rejected", trigger, [str(p) for p in problems])
        try:
            fresh = await asyncio.to_thread(load_config, self.path)
            apps = load_apps(fresh.apps) if fresh.apps else None
            routes = resolve_routes(fresh)
        except (FileProblems, ValueError) as exc:
            return ConfigReload("rejected", trigger, [str(exc)])
        old = self.cfg
        changes = {
            "apps_added": sorted({a.id for a in fresh.apps} - {a.id for a in old.apps}),
            "apps_removed": sorted({a.id for a in old.apps} - {a.id for a in fresh.apps}),
            "apps_changed": sorted(a.id for a in fresh.apps for b in old.apps if a.id == b.id and a != b),
            "models_added": sorted(set(routes) - set(self.pipeline.routes)),
            "models_removed": sorted(set(self.pipeline.routes) - set(routes)),
            "models_changed": sorted(n for n, r in routes.items() if n in self.pipeline.routes
                                     and self.pipeline.routes[n] != r),
            "personas": sorted(str(p.get("id")) for p in fresh.personas if p not in old.personas),
        }
        restart = [s for s in _RESTART_ONLY if getattr(fresh, s) != getattr(old, s)]
        if not any(changes.values()) and fresh.apps == old.apps:
            self.cfg = fresh
            return ConfigReload("unchanged", trigger, needs_restart=restart)
        # the policies the new apps name must be loaded (a new pack may have come with the edit)
        await self._policies_reload(trigger)
        try:
            for app in fresh.apps:
                self.services.policies.get(app.policy)
        except KeyError as exc:
            return ConfigReload("rejected", trigger, [str(exc)])
        upstreams = dict(self.pipeline.upstreams)
        if self._override is not None:
            upstreams.update({r.adapter: self._override for r in routes.values()})
        else:
            missing = {name: r for name, r in routes.items() if r.adapter not in upstreams}
            upstreams.update(build_upstreams(missing, self.cfg))
        likeness = self._likeness()
        if likeness is not None and fresh.personas != old.personas:
            try:
                await sync_config_personas(likeness, fresh.personas)
            except Exception as exc:
                return ConfigReload("rejected", trigger, [f"personas: {exc}"])
        # the swap: plain assignments, no await between them
        if apps is not None:
            self.services.keys.replace(apps)
            if self._on_apps is not None:
                self._on_apps(apps)
        self.pipeline.upstreams = upstreams
        self.pipeline.routes = routes
        self.cfg = fresh
        return ConfigReload("applied", trigger, changes={k: v for k, v in changes.items() if v},
                            needs_restart=restart)

    async def _record(self, outcome: ConfigReload) -> None:
        audit = self._audit()
        if audit is None:
            return
        with contextlib.suppress(Exception):   # a reload must never fail because of its record
            await audit.append(EventDraft(
                event_id=new_event_id(), kind="policy_reload",
                decisions=[{"rule": "config_reload", "cites": [], "outcome": outcome.result,
                            "detail": {"trigger": outcome.trigger, "file": self.path, "summary": outcome.summary(),
                                       "problems": outcome.problems, "changes": outcome.changes,
                                       "needs_restart": outcome.needs_restart}}],
                status=200 if outcome.result != "rejected" else 422, fail_mode="open"))

    async def watch(self, stop: asyncio.Event, *, debounce_ms: int = 300) -> None:
        """Reload whenever the config file changes (editors that replace the file included)."""
        if self._target is None:
            await stop.wait()
            return
        async for _sig in file_poll.changes(self._target, stop, self._loaded, settle=debounce_ms / 1000):
            await self.reload("watch")

    def install_sighup(self) -> bool:
        """SIGHUP reloads the policies, then candor.yaml (one handler: a signal has only one)."""
        if not hasattr(signal, "SIGHUP"):
            return False
        loop = asyncio.get_running_loop()

        async def both() -> None:
            try:
                await self._policies_reload("sighup")
                await self.reload("sighup")
            except Exception:
                log.exception("sighup_reload_failed")

        def on_signal() -> None:
            task = loop.create_task(both())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        loop.add_signal_handler(signal.SIGHUP, on_signal)
        return True
