"""In-process endpoint tests: ``Services`` built from the engine's test doubles (scripted upstream, recording
recorder, shipped policies) and an httpx client on the ASGI app, with no server and no network."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from middleware.config.deployment import CandorConfig
from middleware.http.auth import App, AppKeys
from middleware.pipeline.stages import Pipeline
from middleware.pipeline.upstream import ModelRoute
from middleware.services import Services
from middleware.testing import ROUTE, RecordingRecorder, compile_rules, policy

APP_KEY = "sk-unit-app"
POLICY = "cn-anthropomorphic-2026"


class Policies:
    def get(self, policy_id: str) -> Any:
        return policy(policy_id)


def services(upstreams: dict[str, Any], *, routes: Sequence[ModelRoute] = (ROUTE,), app_policy: str = POLICY,
             config: CandorConfig | None = None) -> tuple[Services, RecordingRecorder]:
    recorder = RecordingRecorder()
    rules = {}

    def rules_for(p: Any) -> Any:
        if p.id not in rules:
            rules[p.id] = compile_rules(p)
        return rules[p.id]

    counter = iter(range(1, 1_000_000))
    pipeline = Pipeline(routes={r.name: r for r in routes}, upstreams=upstreams, rules_for=rules_for,
                        recorder=recorder, new_event_id=lambda: f"evt-{next(counter)}")
    keys = AppKeys([App("unit-app", app_policy, hashlib.sha256(APP_KEY.encode()).digest())])
    return Services(config=config or CandorConfig(), keys=keys, pipeline=pipeline, policies=Policies(),
                    default_policy=POLICY), recorder


def client(routes: list[BaseRoute], key: str | None = APP_KEY) -> httpx.AsyncClient:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=Starlette(routes=routes)),
                             base_url="http://candor", headers=headers)
