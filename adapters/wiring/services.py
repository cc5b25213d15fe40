"""The composition root: builds a running Candor from a deployment config.

This is the one module that knows every concrete adapter; the engine (``middleware``) sees only the
interfaces in ``middleware.services`` and friends. Stores are opened in the start-up hook (they are
async), and rules reach them through ``Runtime``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from adapters.root import audit_log
from adapters.server.dev_key import DEV_KEY_ENV
from adapters.server.live_config import ConfigReloader
from adapters.stores.complaints import ComplaintsRuntime
from adapters.upstream.build import build_upstreams
from adapters.upstream.routes import resolve_routes
from adapters.wiring.likeness import LikenessRuntime, build_likeness
from adapters.wiring.media import build_media
from adapters.wiring.protection import Protection
from adapters.wiring.state import open_state_store
from middleware.audit.api import audit_routes
from middleware.audit.events import EventDraft, new_event_id
from middleware.audit.history_api import history_routes
from middleware.audit.log import AuditLog
from middleware.audit.unauth import UnauthenticatedTally
from middleware.complaints.api import complaint_routes
from middleware.config.deployment import DEFAULT_POLICY, CandorConfig
from middleware.config.operator import check_operator, producer_value
from middleware.config.operator import fields as operator_fields
from middleware.console.deps import ConsoleDeps
from middleware.console.routes import build_console
from middleware.http.auth import App, AppKeys, key_digest, load_apps
from middleware.http.errors import CandorError
from middleware.likeness.api import likeness_routes
from middleware.likeness.configsync import sync_config_personas
from middleware.likeness.enforce import LikenessGate
from middleware.likeness.service import ChangeRecord, LikenessService
from middleware.logs import get_logger
from middleware.metrics import UPSTREAM_ERRORS
from middleware.pipeline.guard_call import GuardCaller, guard_problem
from middleware.pipeline.recorder import AuditRecorder
from middleware.pipeline.stages import Pipeline
from middleware.pipeline.upstream import ModelRoute, Upstream
from middleware.policy.registry import PolicyRegistry, ReloadResult
from middleware.rules.compile import RuleCompiler, RuleDeps
from middleware.rules.records import likeness_change_event
from middleware.services import Services
from middleware.state import StateStore

log = get_logger()


def dev_app(policy: str, environ: dict[str, str] | None = None) -> tuple[App, str]:
    """The development app of the built-in defaults: key from ``$CANDOR_DEV_APP_KEY`` or a fresh one."""
    env = os.environ if environ is None else environ
    key = env.get(DEV_KEY_ENV) or "candor-dev-" + secrets.token_urlsafe(24)
    return App(id="dev", policy=policy, key_sha256=key_digest(key)), key


@dataclass
class Runtime:
    """What is opened at start-up and closed at shutdown."""

    state: StateStore | None = None
    audit: AuditLog | None = None
    likeness: LikenessRuntime | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    stop: asyncio.Event | None = None
    live: ConfigReloader | None = None

    def state_store(self) -> StateStore:
        if self.state is None:
            raise RuntimeError("the state store is not open (start-up has not run)")
        return self.state

    def audit_log(self) -> AuditLog:
        if self.audit is None:
            raise RuntimeError("the audit log is not open (start-up has not run)")
        return self.audit

    def likeness_gate(self) -> LikenessGate:
        if self.likeness is None:
            raise RuntimeError("the persona registry is not open (start-up has not run)")
        return self.likeness.gate

    def likeness_service(self) -> LikenessService:
        if self.likeness is None:
            raise RuntimeError("the persona registry is not open (start-up has not run)")
        return self.likeness.service

    async def record_change(self, change: ChangeRecord) -> None:
        """Persona and consent changes are audit events (fail closed: the API answers 503 otherwise)."""
        await self.audit_log().append(likeness_change_event(change))


def build_services(cfg: CandorConfig, *, upstream_override: Upstream | None = None,
                   clock: Callable[[], float] | None = None) -> Services:
    apps = load_apps(cfg.apps) if cfg.apps else [dev_app(DEFAULT_POLICY)[0]]
    registry = PolicyRegistry.from_config(cfg)
    registry.require([a.policy for a in apps])
    check_operator(cfg, [registry.get(a.policy) for a in apps])
    routes = resolve_routes(cfg)
    upstreams: dict[str, Upstream] = (
        {r.adapter: upstream_override for r in routes.values()} if upstream_override is not None
        else build_upstreams(routes, cfg))
    check_guards(registry, routes)
    rt = Runtime()
    holder: list[Pipeline] = []
    guard = GuardCaller(lambda: holder[0].routes, lambda: holder[0].upstreams)
    protect = Protection(cfg, audit=rt.audit_log, state=rt.state_store, policies=registry, apps=apps,
                         clock=clock or time.time)

    def count_upstream_error(route: ModelRoute, err: CandorError) -> None:
        UPSTREAM_ERRORS.labels(route.name, err.code).inc()

    pipeline = Pipeline(
        routes=routes, upstreams=upstreams,
        rules_for=RuleCompiler(RuleDeps(state=rt.state_store, likeness=rt.likeness_gate,
                                        profiles=protect.profile_service, alerts=protect.alert_outbox,
                                        pseudonym=protect.pseudonym, handover=protect.handover_registry,
                                        alert_user_id=cfg.alerts.include_user_id,
                                        producer=producer_value(cfg), operator_fields=operator_fields(cfg),
                                        guard=lambda: guard)),
        recorder=AuditRecorder(rt.audit_log),
        new_event_id=new_event_id, clock=clock or time.time,
        upstream_error_hook=count_upstream_error,
    )
    holder.append(pipeline)

    async def record_reload(result: ReloadResult) -> None:
        if rt.audit is None:
            return
        for policy_id in (result.changed or result.added or (DEFAULT_POLICY,)):
            version = result.versions.get(policy_id)
            with contextlib.suppress(Exception):   # a reload must never fail because of its record
                await rt.audit.append(EventDraft(
                    event_id=new_event_id(), kind="policy_reload", policy_id=policy_id, policy_version=version,
                    decisions=[{"rule": "policy_reload", "cites": [], "outcome": result.result,
                                "detail": {"trigger": result.trigger, "summary": result.summary(),
                                           "problems": [str(p) for p in result.problems]}}],
                    status=200 if result.result != "rejected" else 422, fail_mode="open"))

    registry.on_reload(record_reload)
    keys = AppKeys(apps)
    unauthenticated = UnauthenticatedTally(rt.audit_log, cfg.audit.unauthenticated_interval)
    media_routes, close_media = build_media(cfg, keys, registry, DEFAULT_POLICY, pipeline, unauthenticated)

    async def startup() -> None:
        rt.state = await open_state_store(cfg.state.url)
        rt.audit = await audit_log(cfg)
        rt.likeness = await build_likeness(cfg, on_change=rt.record_change)
        if cfg.personas:
            await sync_config_personas(rt.likeness.service, cfg.personas)
        await protect.start()
        rt.stop = asyncio.Event()
        rt.tasks.append(asyncio.create_task(registry.watch(rt.stop)))
        if rt.live is not None:
            rt.tasks.append(asyncio.create_task(rt.live.watch(rt.stop)))
        # retention (ANTH-LOG-1): purge what even the longest-keeping policy no longer needs, now and hourly;
        # each run is itself a signed `purge` event, the evidence that retention runs
        retention = max(registry.get(pid).audit.retention for pid in registry.ids())
        rt.tasks.append(asyncio.create_task(rt.audit.run_retention(retention, every=3600.0)))
        rt.tasks.append(asyncio.create_task(unauthenticated.run()))
        with contextlib.suppress(ValueError, RuntimeError):   # signals exist only in the main thread
            if rt.live is not None:
                rt.live.install_sighup()   # policies, then candor.yaml
            else:
                registry.install_sighup()

    async def shutdown() -> None:
        with contextlib.suppress(ValueError, RuntimeError):
            registry.remove_sighup()
        if rt.stop is not None:
            rt.stop.set()
        for task in rt.tasks:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        for up in {id(u): u for u in upstreams.values()}.values():
            await up.aclose()
        await close_media()
        await protect.close()
        if rt.likeness is not None:
            await rt.likeness.close()
        if rt.audit is not None:
            await rt.audit.close()
        if rt.state is not None:
            await rt.state.aclose()

    async def audit_ready() -> tuple[str, bool, str]:
        good = rt.audit is not None and rt.audit.healthy
        return "audit", good, cfg.audit.url.split("@")[-1] if good else "audit store unreachable"

    async def state_ready() -> tuple[str, bool, str]:
        good = rt.state is not None and await rt.state.ping()
        return "state", good, "ok" if good else "state store unreachable"

    keys = AppKeys(apps)
    complaints = ComplaintsRuntime(cfg, lambda draft: rt.audit_log().append(draft), clock or time.time)
    console = build_console(ConsoleDeps(   # the web console (contract 6.5) reads and acts on the same parts
        config=cfg, audit=rt.audit_log, policies=registry, likeness=rt.likeness_service,
        profiles=protect.profile_service, outbox=protect.alert_outbox,
        handover=protect.handover_registry, on_release=protect.record_release,
        complaints=complaints.counts))
    services = Services(
        config=cfg, keys=keys, pipeline=pipeline, policies=registry, default_policy=DEFAULT_POLICY,
        ready_checks=[audit_ready, state_ready],
        routes=[*audit_routes(rt.audit_log, cfg), *likeness_routes(rt.likeness_service, cfg), *protect.routes(),
                *console.routes,
                *history_routes(keys, rt.audit_log, registry, producer_value(cfg)),
                *complaint_routes(complaints.service, keys, lambda app_id: registry.get(_policy_of(keys, app_id)), cfg,
                                  clock or time.time),
                *media_routes],
        on_startup=[startup, complaints.open, console.start],
        on_shutdown=[complaints.close, shutdown, console.stop],   # run in reverse: the rollup's task stops first
        unauthenticated=unauthenticated,
    )
    # live candor.yaml (apps, models, personas): SIGHUP and a file watch, last-known-good
    live = ConfigReloader(cfg, services, pipeline, audit=lambda: rt.audit,
                          likeness=lambda: rt.likeness.service if rt.likeness else None,
                          policies_reload=registry.areload, upstream_override=upstream_override,
                          on_apps=protect.set_apps)
    rt.live = live
    return services


def check_guards(registry: PolicyRegistry, routes: dict[str, ModelRoute]) -> None:
    """Every policy's guard model is a model of this deployment that can serve its format (contract 6.1)."""
    problems = []
    for pid in registry.ids():
        guard = registry.get(pid).detection.guard
        problem = guard_problem(guard, routes) if guard is not None else None
        if problem is not None:
            problems.append(f"policy {pid}: {problem}")
    if problems:
        raise ValueError("; ".join(problems))


def _policy_of(keys: AppKeys, app_id: str) -> str:
    """The policy of an app as the keys know it now (a live config reload may have added the app)."""
    return next((a.policy for a in keys.apps if a.id == app_id), DEFAULT_POLICY)
