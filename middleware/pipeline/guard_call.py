"""One call to a guard model (contract 6.1), through the provider adapters' ports.

The guard is a model alias of ``candor.yaml``; its adapter (the OpenAI-compatible pass-through, or LiteLLM
for chat formats) posts the format's request (``guard_formats.py``) and reads a bounded answer. Every call
ends in a ``GuardResult``: an answer, or an error (``timeout``, ``error``, ``garbage``) that the caller
treats per ``on_error``; never a pass it did not earn. Calls, outcomes and latencies are in ``/metrics``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from middleware import metrics
from middleware.detectors.guard_formats import GuardAnswer, GuardGarbage, parse, request_body, request_path
from middleware.http.errors import CandorError
from middleware.pipeline.upstream import ClassifyingUpstream, ModelRoute, Upstream, UpstreamRequest
from middleware.policy.model import GuardSettings


@dataclass(frozen=True, slots=True)
class GuardResult:
    answer: GuardAnswer | None
    latency_ms: float
    error: str | None = None      # "timeout" | "error" | "garbage" (None: answered)
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.answer is not None

    def evidence(self, settings: GuardSettings) -> dict[str, Any]:
        """The guard's part of an audit decision: model, format, latency, and what it said (or why not)."""
        out: dict[str, Any] = {"tier": "guard", "model": settings.model, "format": settings.format,
                               "latency_ms": round(self.latency_ms, 1)}
        if self.answer is None:
            out.update(outcome="error", error="guard_unavailable", reason=self.error, message=self.message[:300])
        else:
            found = {t: {"label": lab, "score": round(s, 3)} for t, (lab, s) in self.answer.findings.items()}
            out.update(outcome="ok", verdict=self.answer.verdict, categories=list(self.answer.raw), findings=found)
            out.update(self.answer.extra)
        return out


def unavailable(settings: GuardSettings) -> CandorError:
    return CandorError(503, "guard_unavailable",
                       f"the guard model {settings.model!r} ({settings.format}) did not answer usably within "
                       f"{settings.timeout:g}s and the policy says on_error: refuse; retry later")


def guard_problem(settings: GuardSettings, routes: dict[str, ModelRoute]) -> str | None:
    """Why ``settings`` cannot run against these models (None: it can)."""
    route = routes.get(settings.model)
    if route is None:
        return (f"detection.guard.model {settings.model!r} is not a model in candor.yaml "
                f"(models: {', '.join(sorted(routes)) or 'none'})")
    if route.adapter == "demo":
        return f"detection.guard.model {settings.model!r} is the offline demo model, not a guard"
    if settings.format == "openai_moderation" and route.adapter != "passthrough":
        return (f"detection.guard.model {settings.model!r}: format openai_moderation needs an OpenAI-compatible "
                f"target (openai/, hosted_vllm/, openai_compatible/ ...), not {route.target!r}")
    return None


class GuardCaller:
    """Calls guard models through the running pipeline's routes and adapters (which a live reload of
    ``candor.yaml`` may replace: they are looked up per call)."""

    def __init__(self, routes: Callable[[], dict[str, ModelRoute]], upstreams: Callable[[], dict[str, Upstream]],
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self._routes = routes
        self._upstreams = upstreams
        self._clock = clock

    async def judge(self, settings: GuardSettings, tasks: Sequence[str], text: str,
                    user_text: str | None = None) -> GuardResult:
        """``text`` judged for ``tasks``: a user's turn, or (``user_text`` given) a reply to it."""
        started = self._clock()
        outcome = "ok"
        try:
            async with asyncio.timeout(settings.timeout):
                payload = await self._call(settings, tasks, text, user_text)
            answer = parse(settings.format, payload, tasks)
            result = GuardResult(answer, (self._clock() - started) * 1000.0)
        except TimeoutError:
            outcome = "timeout"
            result = GuardResult(None, (self._clock() - started) * 1000.0, "timeout",
                                 f"no answer within {settings.timeout:g}s")
        except GuardGarbage as exc:
            outcome = "garbage"
            result = GuardResult(None, (self._clock() - started) * 1000.0, "garbage", str(exc))
        except CandorError as exc:
            outcome = "timeout" if exc.code == "upstream_timeout" else "error"
            result = GuardResult(None, (self._clock() - started) * 1000.0, outcome, exc.message)
        except Exception as exc:   # a guard must never take the request down with it
            outcome = "error"
            result = GuardResult(None, (self._clock() - started) * 1000.0, "error", f"{type(exc).__name__}: {exc}")
        metrics.GUARD_CALLS.labels(settings.model, settings.format, outcome).inc()
        metrics.GUARD_LATENCY.labels(settings.model, settings.format).observe(result.latency_ms / 1000.0)
        return result

    async def _call(self, settings: GuardSettings, tasks: Sequence[str], text: str, user_text: str | None) -> Any:
        routes = self._routes()
        problem = guard_problem(settings, routes)
        if problem is not None:
            raise CandorError(500, "guard_misconfigured", problem)
        route = routes[settings.model]
        upstream = self._upstreams().get(route.adapter)
        if upstream is None:
            raise CandorError(500, "guard_misconfigured", f"no adapter {route.adapter!r} for guard {route.name!r}")
        body = request_body(settings.format, route.upstream_model, text, tasks, user_text)
        request = UpstreamRequest(route=route, body=body, stream=False)
        classify = getattr(upstream, "classify", None)
        if classify is not None:
            port: ClassifyingUpstream = upstream   # type: ignore[assignment]
            return await port.classify(request, request_path(settings.format), settings.max_bytes)
        reply: Any = None
        async for item in upstream.chat(request):   # LiteLLM-routed chat guards: one chat.completion
            reply = item
        return reply
