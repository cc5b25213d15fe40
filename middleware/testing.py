"""Test doubles that ship with the engine, as ``structlog.testing`` ships structlog's: a scripted
upstream, a virtual clock, in-memory stores and an exchange builder, so that every rule and every
hot-path module has fast unit tests with no network, no database and no server.

    rules = compile_rules("cn-anthropomorphic-2026")
    ex = make_exchange("cn-anthropomorphic-2026", "你好", user="u-1")
    await run_gates(ex, rules)
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from middleware.alerts.models import Alert
from middleware.config.deployment import CandorConfig
from middleware.http.errors import CandorError
from middleware.pipeline.context import RequestContext
from middleware.pipeline.exchange import Exchange
from middleware.pipeline.stages import run_admission
from middleware.pipeline.upstream import ModelRoute, UpstreamRequest
from middleware.policy.model import Policy
from middleware.policy.registry import PolicyRegistry
from middleware.rules.base import RuleSet
from middleware.rules.compile import RuleCompiler, RuleDeps
from middleware.rules.locale import request_locale
from middleware.state import ClockParams, Decision, Observation, UserState, advance, end_sessions, owe_disclosure

ROUTE = ModelRoute(name="candor-test", adapter="scripted", target="scripted/test", upstream_model="test-model",
                   api_base=None, api_key=None, timeout=5.0, connect_timeout=1.0)


class VirtualClock:
    """A clock tests move by hand instead of sleeping."""

    def __init__(self, start: float = 1_772_416_800.0) -> None:   # 2026-03-02 10:00 in Beijing
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Reply:
    """One scripted answer: text (sent in ``chunks`` pieces when streaming), tool calls, or a failure."""

    text: str | None = ""
    tool_calls: list[dict[str, Any]] | None = None
    chunks: int = 3
    fail: CandorError | None = None
    extra_message: dict[str, Any] = field(default_factory=dict)   # e.g. reasoning_content, refusal


class ScriptedUpstream:
    """An ``Upstream`` that answers with the replies it is given, in order, in the OpenAI wire shapes."""

    def __init__(self, replies: Sequence[Reply | str] = ()) -> None:
        self.replies: list[Reply] = [r if isinstance(r, Reply) else Reply(r) for r in replies]
        self.requests: list[UpstreamRequest] = []

    def push(self, *replies: Reply | str) -> None:
        self.replies.extend(r if isinstance(r, Reply) else Reply(r) for r in replies)

    async def aclose(self) -> None:
        return None

    async def chat(self, request: UpstreamRequest) -> AsyncIterator[dict[str, Any]]:
        self.requests.append(request)
        reply = self.replies.pop(0) if self.replies else Reply("(the script has no more replies)")
        if reply.fail is not None:
            raise reply.fail
        base: dict[str, Any] = {"id": f"chatcmpl-scripted-{len(self.requests)}", "created": int(time.time()),
                                "model": request.route.upstream_model}
        if not request.stream:
            message: dict[str, Any] = {"role": "assistant", "content": reply.text, **reply.extra_message}
            if reply.tool_calls:
                message["tool_calls"] = reply.tool_calls
            yield {**base, "object": "chat.completion",
                   "choices": [{"index": 0, "message": message,
                                "finish_reason": "tool_calls" if reply.tool_calls else "stop"}]}
            return
        base["object"] = "chat.completion.chunk"
        yield {**base, "choices": [{"index": 0, "delta": {"role": "assistant", **reply.extra_message},
                                    "finish_reason": None}]}
        for piece in split(reply.text or "", reply.chunks):
            yield {**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
        for i, call in enumerate(reply.tool_calls or ()):
            yield {**base, "choices": [{"index": 0, "delta": {"tool_calls": [{"index": i, **call}]},
                                        "finish_reason": None}]}
        yield {**base, "choices": [{"index": 0, "delta": {},
                                    "finish_reason": "tool_calls" if reply.tool_calls else "stop"}]}


def split(text: str, parts: int) -> list[str]:
    """``text`` in ``parts`` pieces of nearly equal length (none empty)."""
    if not text:
        return []
    size = max(1, -(-len(text) // max(1, parts)))
    return [text[i:i + size] for i in range(0, len(text), size)]


class MemoryState:
    """A ``StateStore`` in a dict: the clock's own ``advance`` with nothing in between."""

    def __init__(self) -> None:
        self.states: dict[str, UserState] = {}

    async def observe(self, scope_key: str, obs: Observation, params: ClockParams) -> Decision:
        self.states[scope_key], decision = advance(self.states.get(scope_key), obs, params)
        return decision

    async def end_session(self, scope_key: str) -> None:
        if scope_key in self.states:
            self.states[scope_key] = end_sessions(self.states[scope_key])

    async def owe_disclosure(self, scope_key: str) -> None:
        if scope_key in self.states:
            self.states[scope_key] = owe_disclosure(self.states[scope_key])

    async def snapshot(self, scope_key: str) -> UserState | None:
        return self.states.get(scope_key)

    async def ping(self) -> bool:
        return True

    async def aclose(self) -> None:
        self.states.clear()


class RecordingAlerts:
    """An ``AlertSink`` that keeps the alerts it is asked to send."""

    def __init__(self, webhook: bool = True) -> None:
        self.sent: list[Alert] = []
        self._webhook = webhook

    @property
    def webhook_configured(self) -> bool:
        return self._webhook

    async def enqueue(self, alert: Alert) -> Alert:
        self.sent.append(alert)
        return alert


class RecordingRecorder:
    """The record stage, kept in memory: each exchange and the error it ended with, if any."""

    def __init__(self) -> None:
        self.records: list[tuple[Exchange, CandorError | None]] = []
        self.begun: list[Exchange] = []

    def admit(self, ex: Exchange) -> None:
        return None

    async def begin(self, ex: Exchange) -> None:
        self.begun.append(ex)

    async def record(self, ex: Exchange, error: CandorError | None = None) -> None:
        self.records.append((ex, error))


_REGISTRY: PolicyRegistry | None = None


def policy(policy_id: str = "cn-anthropomorphic-2026") -> Policy:
    """A shipped policy pack, loaded once per process."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = PolicyRegistry.from_config(CandorConfig())
    return _REGISTRY.get(policy_id)


def compile_rules(policy_or_id: Policy | str = "cn-anthropomorphic-2026", *, state: MemoryState | None = None,
                  alerts: RecordingAlerts | None = None) -> RuleSet:
    """The rules of a policy with in-memory dependencies (no personas, profiles or hand-overs)."""
    pol = policy(policy_or_id) if isinstance(policy_or_id, str) else policy_or_id
    store = state or MemoryState()
    sink = alerts

    def no_likeness() -> Any:
        raise RuntimeError("this test has no persona registry: send no X-Candor-Persona")

    deps = RuleDeps(state=lambda: store, likeness=no_likeness,
                    alerts=(lambda: sink) if sink is not None else None)
    return RuleCompiler(deps).compile(pol)


def make_exchange(policy_or_id: Policy | str = "cn-anthropomorphic-2026", text: str = "你好", *,
                  user: str | None = "u-1", stream: bool = False, age_band: str | None = None,
                  messages: list[dict[str, Any]] | None = None, now: float | None = None,
                  renders: frozenset[str] = frozenset(), body: dict[str, Any] | None = None,
                  event_id: str = "evt-test") -> Exchange:
    """An exchange as admission leaves it: context resolved, the last user turn and locale read."""
    pol = policy(policy_or_id) if isinstance(policy_or_id, str) else policy_or_id
    msgs = messages if messages is not None else [{"role": "user", "content": text}]
    ctx = RequestContext(app_id="test-app", user_id=user, session_hint=None, persona_id=None,
                         age_band=age_band, client_renders=renders)
    ex = Exchange(ctx=ctx, policy=pol, event_id=event_id, route=ROUTE,
                  body=body or {"model": ROUTE.name, "messages": msgs, "stream": stream}, stream=stream,
                  now=now if now is not None else VirtualClock().now)
    user_turns = [m for m in msgs if m.get("role") == "user"]
    ex.state.user_text = str(user_turns[-1].get("content") or "") if user_turns else ""
    ex.state.locale = request_locale(None, ex.state.user_text)
    return ex


async def run_gates(ex: Exchange, rules: RuleSet) -> None:
    """The admission stages exactly as the pipeline runs them (``pipeline.run_admission``)."""
    await run_admission(ex, rules)
