"""Runs policy test cases through the real proxy pipeline, with a scripted model and a virtual clock.

Nothing leaves the process: the app is built by the composition root (`adapters/root.py`) with a scripted upstream
and driven with ``httpx`` over ``ASGITransport``; users, personas and consents are registered through the
admin API first, exactly as an operator would. Each case gets a fresh app (fresh state, fresh audit log).
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import hashlib
import inspect
import logging
import os
import secrets
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import orjson
import structlog

from middleware.config.deployment import AdminConfig, AppConfig, AuditConfig, CandorConfig, ModelConfig, StateConfig
from middleware.pipeline.upstream import UpstreamRequest
from middleware.policy.cases import Case, Expect, as_admin_body

MODEL = "policy-test-model"
ADMIN_KEY_ENV = "CANDOR_POLICY_TEST_ADMIN_KEY"
_UNEXPECTED = "(scripted model: this turn gave no reply, so the model was not expected to be called)"


class VirtualClock:
    """Wall-clock seconds that only move when a case says so."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class ScriptedModel:
    """The upstream for one case: answers each turn with the case's scripted reply, records each call."""

    def __init__(self) -> None:
        self.reply: str = _UNEXPECTED
        self.calls: list[dict[str, Any]] = []

    async def aclose(self) -> None:
        return None

    async def chat(self, request: UpstreamRequest) -> AsyncIterator[dict[str, Any]]:
        self.calls.append(request.body)
        base: dict[str, Any] = {"id": f"chatcmpl-policy-test-{len(self.calls)}", "created": int(time.time()),
                                "model": MODEL}
        if not request.stream:
            yield {**base, "object": "chat.completion",
                   "choices": [{"index": 0, "message": {"role": "assistant", "content": self.reply},
                                "finish_reason": "stop"}],
                   "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
            return
        base["object"] = "chat.completion.chunk"
        yield {**base, "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]}
        words = self.reply.split(" ")
        for i, word in enumerate(words):
            piece = word if i == len(words) - 1 else word + " "
            yield {**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
        yield {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}


@dataclass(slots=True)
class Outcome:
    """What one turn produced, as the app saw it."""

    status: int
    error_code: str | None
    compliance: dict[str, Any]
    text: str
    model_calls: list[dict[str, Any]]

    @property
    def system_prompt(self) -> str:
        parts = []
        for call in self.model_calls:
            for msg in call.get("messages", []):
                if isinstance(msg, dict) and msg.get("role") in ("system", "developer"):
                    content = msg.get("content")
                    parts.append(content if isinstance(content, str) else orjson.dumps(content).decode())
        return "\n".join(parts)

    @property
    def history(self) -> str:
        """The assistant turns of the conversation as the model received them."""
        parts = []
        for call in self.model_calls:
            for msg in call.get("messages", []):
                if isinstance(msg, dict) and msg.get("role") == "assistant":
                    content = msg.get("content")
                    parts.append(content if isinstance(content, str) else orjson.dumps(content).decode())
        return "\n".join(parts)


@dataclass(slots=True)
class CaseResult:
    path: Path
    case: Case
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def check_turn(expect: Expect, out: Outcome) -> list[str]:
    """Every way ``out`` misses ``expect``, in words."""
    fails: list[str] = []
    want_status = expect.status or (None if expect.refusal else 200)
    if want_status is not None and out.status != want_status:
        fails.append(f"status {out.status} ({out.error_code or 'ok'}), expected {want_status}")
    if expect.refusal is not None and out.error_code != expect.refusal:
        fails.append(f"refusal code {out.error_code!r}, expected {expect.refusal!r}")
    kinds = [n.get("kind") for n in out.compliance.get("notices") or [] if isinstance(n, dict)]
    fails += [f"notice {k!r} missing (notices: {kinds})" for k in expect.notices if k not in kinds]
    fails += [f"notice {k!r} present but must not be" for k in expect.no_notices if k in kinds]
    actions = list(out.compliance.get("actions") or [])
    fails += [f"action {a!r} missing (actions: {actions})" for a in expect.actions if a not in actions]
    fails += [f"action {a!r} present but must not be" for a in expect.no_actions if a in actions]
    crisis = out.compliance.get("crisis")
    level = crisis.get("level") if isinstance(crisis, dict) else None
    if expect.crisis is not None and (level or "none") != expect.crisis:
        fails.append(f"crisis level {level or 'none'!r}, expected {expect.crisis!r}")
    category = crisis.get("category") if isinstance(crisis, dict) else None
    if expect.crisis_category is not None and category != expect.crisis_category:
        fails.append(f"crisis category {category!r}, expected {expect.crisis_category!r}")
    if expect.handover is not None:
        got = bool(crisis.get("handover")) if isinstance(crisis, dict) else False
        if got != expect.handover:
            fails.append(f"crisis handover {got}, expected {expect.handover}")
    if expect.label is not None:
        label = out.compliance.get("label")
        has = isinstance(label, dict) and bool(label.get("explicit"))
        if has != expect.label:
            fails.append(f"explicit label {'present' if has else 'absent'}, expected "
                         f"{'present' if expect.label else 'absent'}")
    fails += [f"reply does not contain {s!r} (reply: {out.text!r})" for s in expect.contains if s not in out.text]
    fails += [f"reply contains {s!r} but must not" for s in expect.not_contains if s in out.text]
    if expect.model_called is not None and bool(out.model_calls) != expect.model_called:
        fails.append("the model was called" if out.model_calls else "the model was not called")
    prompt = out.system_prompt
    fails += [f"system prompt lacks {s!r}" for s in expect.system_prompt_contains if s not in prompt]
    history = out.history
    fails += [f"the model saw {s!r} in the history (history: {history!r})"
              for s in expect.history_not_contains if s in history]
    fails += [f"the model's history lacks {s!r} (history: {history!r})"
              for s in expect.history_contains if s not in history]
    return fails


def _start_time(case: Case, zone: str) -> float:
    if case.start:
        moment = datetime.fromisoformat(case.start)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(zone))
        return moment.timestamp()
    # a Monday at noon where the policy counts its days: clear of late-night windows and day boundaries
    return datetime(2026, 8, 3, 12, 0, tzinfo=ZoneInfo(zone)).timestamp()


def _parse_sse(raw: str) -> tuple[str, dict[str, Any], str | None]:
    text, compliance, error = "", {}, None
    for line in raw.splitlines():
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if not data or data == "[DONE]":
            continue
        chunk = orjson.loads(data)
        if "error" in chunk:
            error = chunk["error"].get("code")
            continue
        for choice in chunk.get("choices") or []:
            text += (choice.get("delta") or {}).get("content") or ""
        part = chunk.get("compliance")
        if isinstance(part, dict):
            compliance.update({k: v for k, v in part.items() if v is not None or k not in compliance})
    return text, compliance, error


AppFactory = Callable[..., Any]


@contextlib.asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """Run the ASGI lifespan protocol around a block (httpx's ASGITransport does not), so the app's
    start-up and shutdown hooks run as under a server."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
    task = asyncio.create_task(app(scope, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    started = await _next_message(outbox, task)
    if started is not None and started["type"] == "lifespan.startup.failed":
        raise RuntimeError(f"the app failed to start: {started.get('message', '')}")
    try:
        yield
    finally:
        if started is not None and not task.done():
            await inbox.put({"type": "lifespan.shutdown"})
            await _next_message(outbox, task)
        task.cancel()
        with contextlib.suppress(BaseException):
            await task


async def _next_message(outbox: asyncio.Queue[dict[str, Any]], task: asyncio.Task[Any]) -> dict[str, Any] | None:
    """The app's next lifespan message, or None if it ended without one (no lifespan support)."""
    getter = asyncio.create_task(outbox.get())
    await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
    if getter.done():
        return getter.result()
    getter.cancel()
    return None


@contextlib.contextmanager
def quiet_logs(level: int = logging.WARNING) -> Iterator[None]:
    """Only warnings and errors while cases run: the proxy's per-request info line would drown the
    report. structlog's configuration is process-wide, so the previous one is put back afterwards."""
    before = structlog.get_config()["wrapper_class"]
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(level))
    try:
        yield
    finally:
        structlog.configure(wrapper_class=before)


class CaseRunner:
    """Builds one app per case over ``policies_dir`` and plays the conversation."""

    def __init__(self, policies_dir: Path, *, app_factory: AppFactory | None = None) -> None:
        if app_factory is None:
            from middleware.composition import current

            app_factory = current().build_app
        self.factory = app_factory
        self.policies_dir = policies_dir
        self.takes_clock = "clock" in inspect.signature(app_factory).parameters

    def _config(self, case: Case, key: str, workdir: Path) -> CandorConfig:
        return CandorConfig(
            models=[ModelConfig(name=MODEL, target="scripted/policy-test", adapter="demo")],
            apps=[AppConfig(id="policy-test", key_sha256=hashlib.sha256(key.encode()).hexdigest(),
                            policy=case.policy)],
            policies_dir=str(self.policies_dir),
            state=StateConfig(url="memory://"),
            audit=AuditConfig(url=f"sqlite:///{workdir / 'audit.db'}"),
            admin=AdminConfig(key_env=ADMIN_KEY_ENV, auditor_key_env=ADMIN_KEY_ENV),
        )

    async def run(self, path: Path, case: Case, zone: str) -> CaseResult:
        with quiet_logs():
            return await self._run(path, case, zone)

    async def _run(self, path: Path, case: Case, zone: str) -> CaseResult:
        result = CaseResult(path, case)
        moves_clock = case.start is not None or any(t.advance for t in case.turns)
        if moves_clock and not self.takes_clock:
            result.failures.append("this case moves the clock, but the app factory takes no clock= parameter")
            return result
        clock = VirtualClock(_start_time(case, zone))
        model = ScriptedModel()
        key = "policy-test-" + secrets.token_urlsafe(16)
        admin_key = os.environ.setdefault(ADMIN_KEY_ENV, "policy-test-admin-" + secrets.token_urlsafe(16))
        with tempfile.TemporaryDirectory(prefix="candor-policy-test-") as tmp:
            kwargs: dict[str, Any] = {"upstream_override": model}
            if self.takes_clock:
                kwargs["clock"] = clock
            try:
                app = self.factory(self._config(case, key, Path(tmp)), **kwargs)
            except Exception as exc:
                result.failures.append(f"could not build the app: {exc}")
                return result
            async with lifespan(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://candor.test") as client:
                    await self._setup(client, case, admin_key, result)
                    if result.failures:
                        return result
                    await self._play(client, case, key, clock, model, result)
        return result

    async def _setup(self, client: httpx.AsyncClient, case: Case, admin_key: str, result: CaseResult) -> None:
        auth = {"authorization": f"Bearer {admin_key}"}
        steps: list[tuple[str, str, dict[str, Any]]] = []
        # personas first: a consent names a subject the registry knows from a persona's likeness
        steps += [("POST", "/admin/personas", as_admin_body(p)) for p in case.personas]
        steps += [("POST", "/admin/consents", as_admin_body(c)) for c in case.consents]
        if case.profile is not None:
            steps.append(("PUT", f"/admin/users/{case.user.id}", as_admin_body(case.profile)))
        for method, url, body in steps:
            resp = await client.request(method, url, json=body, headers=auth)
            if resp.status_code >= 300:
                result.failures.append(f"setup {method} {url} answered {resp.status_code}: {resp.text[:300]}")
                return

    async def _play(self, client: httpx.AsyncClient, case: Case, key: str, clock: VirtualClock,
                    model: ScriptedModel, result: CaseResult) -> None:
        history: list[dict[str, str]] = []
        session = case.session
        for number, turn in enumerate(case.turns, 1):
            clock.advance(turn.advance)
            session = turn.session or session
            headers = {"authorization": f"Bearer {key}"}
            if case.user.id is not None:
                headers["x-candor-user"] = case.user.id
            if session:
                headers["x-candor-session"] = session
            if case.user.age_band:
                headers["x-candor-age-band"] = case.user.age_band
            if case.persona:
                headers["x-candor-persona"] = case.persona
            headers.update({k.lower(): v for k, v in {**case.headers, **turn.headers}.items()})
            stream = case.stream if turn.stream is None else turn.stream
            history.append({"role": "user", "content": turn.user})
            model.reply = turn.model if turn.model is not None else _UNEXPECTED
            model.calls = []
            body: dict[str, Any] = {"model": MODEL, "messages": history, "stream": stream}
            if case.user.id is not None:
                body["user"] = case.user.id
            resp = await client.post("/v1/chat/completions", json=body, headers=headers)
            outcome = self._outcome(resp, stream, model)
            result.failures += [f"turn {number} ({turn.user[:30]!r}): {f}" for f in check_turn(turn.expect, outcome)]
            history.append({"role": "assistant", "content": outcome.text})

    @staticmethod
    def _outcome(resp: httpx.Response, stream: bool, model: ScriptedModel) -> Outcome:
        calls = list(model.calls)
        if resp.status_code != 200:
            try:
                code = resp.json().get("error", {}).get("code")
            except ValueError:
                code = None
            return Outcome(resp.status_code, code, {}, "", calls)
        if stream:
            text, compliance, error = _parse_sse(resp.text)
            return Outcome(200, error, compliance, text, calls)
        data = resp.json()
        choices = data.get("choices") or [{}]
        text = (choices[0].get("message") or {}).get("content") or ""
        return Outcome(200, None, data.get("compliance") or {}, text, calls)


def select(cases: Sequence[tuple[Path, Case]], only: Sequence[str], root: Path) -> list[tuple[Path, Case]]:
    """Cases matching any ``--only`` pattern (glob on the policy id, the case name or its path)."""
    if not only:
        return list(cases)
    out = []
    for path, case in cases:
        rel = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
        names = (case.policy, case.name, rel, path.stem)
        if any(fnmatch.fnmatch(n, pat) or pat in n for pat in only for n in names):
            out.append((path, case))
    return out
