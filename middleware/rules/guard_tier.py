"""The guard-model tier in the pipeline (contract 6.1 ``detection.guard``).

Request side: the guard gate (first of the gates) starts the guard's call on the user's turn at once, so it
runs beside the gates and the provider call; the crisis gate decides what it can locally and, unless the
local finding is already the most severe, leaves a ``hold`` that the pipeline awaits before the reply's
first byte (``Pipeline.source``). The reply therefore costs max(guard, model), not their sum; a crisis the
guard finds replaces or augments the reply exactly as a local finding would.

Reply side: ``GuardFeed`` sits before the guard chain and has each sentence (``output: sentence``) or the
whole reply (``output: end``) judged before the chain sees it; the output checks then read the guard's
finding beside their local one (``merged``). Nothing reaches the client before the guard has answered for
it, so a rewrite never follows the text it replaces.

Merging: the stricter finding wins (``TASK_LABELS`` order); on a tie the local tier keeps it (it has spans
and a rule name). Every decision the guard took part in names both tiers, with label, score and latency.
A guard that times out, fails or answers garbage follows ``on_error``: ``local`` (the local tiers decide,
``guard_unavailable`` is recorded and listed in the actions) or ``refuse`` (503 ``guard_unavailable``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from middleware import metrics
from middleware.detectors.guard_table import REQUEST_CHECKS
from middleware.detectors.judgment import severity
from middleware.detectors.sentences import SentenceBuffer
from middleware.pipeline.exchange import Exchange
from middleware.pipeline.guard_call import GuardCaller, GuardResult, unavailable
from middleware.policy.model import GuardSettings, Policy
from middleware.rules.base import MAX_HOLD, cut_clause
from middleware.rules.detection import Reading
from middleware.rules.registry import Build, rule

CITES = ("ANTH-CRISIS-1",)
CONCURRENT = 8   # guard calls in flight at once for one reply (a long non-streamed reply is many sentences)


class GuardRun:
    """One request's guard calls: the request-side call, and the reply's units with their answers."""

    __slots__ = ("_limit", "_recorded", "caller", "ex", "output", "output_checks", "request", "settings")

    def __init__(self, caller: GuardCaller, settings: GuardSettings, ex: Exchange) -> None:
        self.caller = caller
        self.settings = settings
        self.ex = ex
        self.request: asyncio.Task[GuardResult] | None = None
        self.output: dict[str, GuardResult] = {}
        self.output_checks = tuple(c for c in settings.checks if c not in REQUEST_CHECKS)
        self._recorded = False
        self._limit: asyncio.Semaphore | None = None

    # -- request side -----------------------------------------------------------------------------------
    def start(self, text: str) -> None:
        tasks = [c for c in self.settings.checks if c in REQUEST_CHECKS]
        if not tasks or not text:
            return
        self.request = asyncio.ensure_future(self.caller.judge(self.settings, tasks, text))
        self.ex.cleanups.append(self.cancel)

    def cancel(self) -> None:
        if self.request is not None and not self.request.done():
            self.request.cancel()

    async def request_result(self) -> GuardResult | None:
        if self.request is None:
            return None
        return await self.request

    def failed(self, result: GuardResult, where: str) -> None:
        """A guard call gave no usable answer: ``on_error`` decides (raises 503 for ``refuse``)."""
        s = self.settings
        metrics.GUARD_UNAVAILABLE.labels(s.on_error).inc()
        if not self._recorded:
            self._recorded = True
            self.ex.decide("guard", CITES, "error", {**result.evidence(s), "side": where, "on_error": s.on_error})
        if s.on_error == "refuse":
            raise unavailable(s)
        self.ex.act("guard_unavailable")

    # -- reply side -------------------------------------------------------------------------------------
    async def judge_units(self, units: list[str]) -> None:
        todo = [u for u in units if u.strip() and u not in self.output]
        if not todo:
            return
        user = self.ex.state.user_text or ""
        if self._limit is None:
            self._limit = asyncio.Semaphore(CONCURRENT)
        limit = self._limit

        async def one(unit: str) -> GuardResult:
            async with limit:
                return await self.caller.judge(self.settings, self.output_checks, unit.strip(), user)
        results = await asyncio.gather(*(one(u) for u in todo))
        for unit, result in zip(todo, results, strict=True):
            self.output[unit] = result
        for result in results:
            if not result.ok:
                self.failed(result, "reply")
                break

    def reading(self, task: str, sentence: str) -> tuple[Reading, GuardResult] | None:
        """The guard's reading of ``sentence`` for ``task`` (None: the guard has none for it). A sentence the
        chain cut differently from the guard's units takes the strictest finding of every unit it overlaps."""
        exact = self.output.get(sentence)
        if exact is not None:
            candidates = [exact]
        else:
            key = sentence.strip()
            candidates = [r for u, r in self.output.items() if key and (key in u or u.strip() in key)]
        best: tuple[Reading, GuardResult] | None = None
        for result in candidates:
            if result.answer is None or task not in result.answer.findings:
                continue
            label, score = result.answer.findings[task]
            if best is None or severity(task, label) < severity(task, best[0].label):
                best = Reading(task, label, score, "guard", _detail(self.settings, result)), result
        return best


def _detail(settings: GuardSettings, result: GuardResult) -> str:
    said = ", ".join(result.answer.raw) if result.answer and result.answer.raw else "no category"
    return f"{settings.format} {settings.model}: {said}"


def stricter(task: str, local: Reading, guard: Reading) -> Reading:
    """The stricter reading; a tie keeps the local one."""
    return guard if severity(task, guard.label) < severity(task, local.label) else local


def tiers_evidence(local: Reading, local_ms: float | None, result: GuardResult | None,
                   settings: GuardSettings, task: str) -> list[dict[str, Any]]:
    """Every tier that ran for one decision: label, score and latency of each."""
    out: list[dict[str, Any]] = [{"tier": local.tier, "label": local.label, "score": round(float(local.score), 3),
                                  "latency_ms": None if local_ms is None else round(local_ms, 3)}]
    if result is not None:
        g: dict[str, Any] = {"tier": "guard", "model": settings.model, "format": settings.format,
                             "latency_ms": round(result.latency_ms, 1)}
        if result.answer is None:
            g.update(label=None, outcome="error", error="guard_unavailable", reason=result.error)
        else:
            label, score = result.answer.findings.get(task, ("none", 1.0))
            g.update(label=label, score=round(score, 3), categories=list(result.answer.raw))
        out.append(g)
    return out


@dataclass(frozen=True, slots=True)
class TieredReading(Reading):
    """A reading decided with the guard: its audit evidence lists every tier that ran."""

    tiers: tuple[dict[str, Any], ...] = ()

    def evidence(self) -> dict[str, Any]:
        out = Reading.evidence(self)
        out["tiers"] = list(self.tiers)
        return out


def merged(ex: Exchange, task: str, sentence: str, local: Reading, local_ms: float | None = None) -> Reading:
    """An output check's reading with the guard's (when the guard judges ``task`` for this reply)."""
    run = ex.state.guard_run
    if run is None or task not in run.output_checks:
        return local
    found = run.reading(task, sentence)
    if found is None:
        return local
    guard, result = found
    best = stricter(task, local, guard)
    if not best.hit:
        return best
    tiers = tiers_evidence(local, local_ms, result, run.settings, task)
    return TieredReading(best.task, best.label, best.score, best.tier, best.detail, best.spans, tuple(tiers))


class GuardFeed:
    """Before the guard chain: text passes on only once the guard has judged it (per sentence, or the
    whole reply at the end, per ``output``). Work per chunk is O(chunk); one guard call per unit, the units
    of one burst judged together."""

    __slots__ = ("_buf", "_end", "_held", "run")

    def __init__(self, run: GuardRun) -> None:
        self.run = run
        self._buf = SentenceBuffer()
        self._end = run.settings.output == "end"
        self._held: list[str] = []

    async def feed(self, text: str, whole: bool = False) -> str:
        """Text the chain may now see; ``whole``: ``text`` is a whole reply (non-streaming), judged at once."""
        if self._end:
            self._held.append(text)
            return ""
        done = self._buf.feed(text)
        if whole:
            rest = self._buf.flush()
            done = [*done, rest] if rest else done
            await self.run.judge_units(done)
            return "".join(done)
        if not done:
            if len(self._buf.pending) <= MAX_HOLD:
                return ""
            done = [cut_clause(self._buf)]
        await self.run.judge_units(done)
        return "".join(done)

    async def flush(self) -> str:
        rest = "".join(self._held) if self._end else self._buf.flush()
        self._held.clear()
        if rest:
            await self.run.judge_units([rest])
        return rest


def feed_for(ex: Exchange) -> GuardFeed | None:
    """The reply's guard feed, when the guard judges reply text for this request."""
    run = ex.state.guard_run
    if run is None or not run.output_checks or ex.answer is not None:
        return None
    return GuardFeed(run)


class GuardGate:
    """First of the gates: starts the guard on the user's turn, so it runs beside everything else."""

    name = "guard"

    def __init__(self, policy: Policy, settings: GuardSettings, caller: Callable[[], GuardCaller]) -> None:
        self.policy = policy
        self.settings = settings
        self._caller = caller

    async def admit(self, ex: Exchange) -> None:
        run = GuardRun(self._caller(), self.settings, ex)
        ex.state.guard_run = run
        run.start(ex.state.user_text)


async def settle_request(ex: Exchange) -> GuardResult | None:
    """The request-side guard's answer (None: no request-side guard); a failure follows ``on_error``."""
    run = ex.state.guard_run
    if run is None:
        return None
    result = await run.request_result()
    if result is not None and not result.ok:
        run.failed(result, "request")
    return result


def stop(ex: Exchange) -> None:
    """The local tiers settled it (or a gate answered): the request-side guard is not waited for."""
    run = ex.state.guard_run
    if run is not None:
        with contextlib.suppress(Exception):
            run.cancel()


@rule("guard", stage="gate", order=1)
def _guard(b: Build) -> GuardGate | None:
    settings = b.policy.detection.guard
    if settings is None or b.deps.guard is None:
        return None
    return GuardGate(b.policy, settings, b.deps.guard)
