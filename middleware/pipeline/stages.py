"""The one pipeline every reply goes through: admit, gate, shape, call, guard, label/notify, record.

It is written once, for streaming. A non-streaming reply is the same frames collected (see
``render.py``): the upstream yields one ``chat.completion`` instead of chunks, and the guards see its
text as one delta.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from middleware.http.errors import CandorError
from middleware.http.requests import last_user_text
from middleware.pipeline.context import RequestContext
from middleware.pipeline.exchange import Exchange
from middleware.pipeline.upstream import ModelRoute, Upstream, UpstreamRequest
from middleware.policy.model import Policy
from middleware.rules.base import GuardStep, RuleSet, SentenceCheck, guard_chain
from middleware.rules.fields import ReplyFields
from middleware.rules.guard_tier import feed_for
from middleware.rules.locale import request_locale
from middleware.rules.structured import is_structured, offers_tools, settle_disclosure, withhold_text

JSONObject = dict[str, Any]   # one OpenAI-shaped JSON object, as the provider or the client sent it


# Frames the pipeline yields to a renderer: a tagged union, matched by type.
@dataclass(frozen=True, slots=True)
class Text:
    """Assistant text to deliver (proxy-added, or model text the guards released)."""

    text: str


@dataclass(frozen=True, slots=True)
class Passthrough:
    """An upstream chunk with no content to change (role, tool calls), relayed as it is."""

    chunk: JSONObject


@dataclass(frozen=True, slots=True)
class End:
    """The upstream's closing objects: the whole completion (non-streaming) and the trailing chunks."""

    completion: JSONObject | None
    trailers: list[JSONObject]


Frame = Text | Passthrough | End
# What a provider adapter yields: one OpenAI-shaped object, or a list of chunks that arrived together
# (sent on as one delta: fewer writes, and no later than the provider sent them).
Item = dict[str, Any] | list[dict[str, Any]]


class Recorder(Protocol):
    """The record stage: writes the exchange's audit event durably (see ``recorder.py``)."""

    def admit(self, ex: Exchange) -> None: ...

    async def record(self, ex: Exchange, error: CandorError | None = None) -> None: ...

    async def begin(self, ex: Exchange) -> None: ...


def _model_not_found(name: Any, routes: dict[str, ModelRoute]) -> CandorError:
    return CandorError(404, "model_not_found",
                       f"model {name!r} is not configured: use one of {', '.join(sorted(routes))} "
                       "(GET /v1/models lists them; operators add models in candor.yaml)", param="model")


async def run_admission(ex: Exchange, rules: RuleSet) -> None:
    """Gates until one answers (exit, crisis replace), then shapers, then the notifiers' first half."""
    for gate in rules.gates:
        await gate.admit(ex)
        if ex.answer is not None:
            break
    if ex.answer is None:
        for shaper in rules.shapers:
            shaper.shape(ex)
    for notifier in rules.notifiers:
        notifier.before(ex)


class Pipeline:
    def __init__(
        self,
        *,
        routes: dict[str, ModelRoute],
        upstreams: dict[str, Upstream],
        rules_for: Callable[[Policy], RuleSet],
        recorder: Recorder,
        new_event_id: Callable[[], str],
        clock: Callable[[], float] = time.time,
        upstream_error_hook: Callable[[ModelRoute, CandorError], None] | None = None,
    ) -> None:
        self.routes = routes
        self.upstreams = upstreams
        self.rules_for = rules_for
        self.recorder = recorder
        self.new_event_id = new_event_id
        self.clock = clock
        self._on_upstream_error = upstream_error_hook
        # labels images and audio in a non-streaming reply's message (middleware/media/chat.py); set by wiring
        self.message_media: Callable[[Exchange, dict[str, Any]], Awaitable[dict[str, Any]]] | None = None
        # labels the first audio delta of a streamed reply (middleware/media/chat.py); set by wiring
        self.delta_media: Callable[[Exchange, dict[str, Any]], dict[str, Any]] | None = None

    # -- 1. admit, 2. gate, 3. shape ---------------------------------------------------------------
    def route(self, body: dict[str, Any]) -> ModelRoute:
        name = body.get("model")
        route = self.routes.get(name) if isinstance(name, str) else None
        if route is None:
            raise _model_not_found(name, self.routes)
        return route

    def exchange(self, ctx: RequestContext, policy: Policy, route: ModelRoute | None, body: dict[str, Any],
                 stream: bool) -> Exchange:
        return Exchange(ctx=ctx, policy=policy, event_id=self.new_event_id(),
                        route=route or _NO_ROUTE, body=body, stream=stream, now=self.clock())

    async def admit(self, ex: Exchange) -> RuleSet:
        """Session, gates and shapers. Raises ``CandorError`` for a refusal."""
        self.recorder.admit(ex)
        rules = self.rules_for(ex.policy)
        user_text = last_user_text(ex.body)
        ex.state.user_text = user_text
        ex.state.locale = request_locale(ex.ctx.accept_language, user_text)
        ex.state.structured = is_structured(ex.body)
        ex.state.may_be_tool_calls = offers_tools(ex.body)
        await run_admission(ex, rules)
        return rules

    # -- 4. call ------------------------------------------------------------------------------------
    def source(self, ex: Exchange) -> AsyncIterator[Item]:
        if ex.answer is not None:
            return _answer_source(ex)
        upstream = self.upstreams.get(ex.route.adapter)
        if upstream is None:
            raise CandorError(500, "internal_error", f"no adapter {ex.route.adapter!r} for model {ex.route.name!r}")
        body = ex.body
        if ex.system:
            body = {**body, "messages": [{"role": "system", "content": "\n\n".join(ex.system)}, *body["messages"]]}
        body = {**body, "model": ex.route.upstream_model}
        ex.upstream_started = time.perf_counter()
        source = upstream.chat(UpstreamRequest(route=ex.route, body=body, stream=ex.stream))
        hold = ex.state.hold
        return source if hold is None else _held(ex, source, hold)

    async def first(self, ex: Exchange, source: AsyncIterator[Item]) -> Item:
        """The first object of the reply: errors until here become a plain HTTP error response."""
        try:
            obj = await source.__anext__()
        except StopAsyncIteration:
            raise CandorError(502, "upstream_error",
                              f"the provider for model {ex.route.name!r} sent an empty reply") from None
        except CandorError as err:
            if err.code != "guard_unavailable":
                self.upstream_failed(ex, err)
            raise
        if ex.upstream_started is not None and ex.upstream_ms is None:
            ex.upstream_ms = (time.perf_counter() - ex.upstream_started) * 1000.0
        return obj

    def upstream_failed(self, ex: Exchange, err: CandorError) -> None:
        if self._on_upstream_error is not None and ex.answer is None:
            self._on_upstream_error(ex.route, err)

    # -- 5. guard, 6. label and notify ----------------------------------------------------------------
    async def frames(self, ex: Exchange, rules: RuleSet, first: Item,
                     source: AsyncIterator[Item]) -> AsyncIterator[Frame]:
        steps: list[GuardStep | SentenceCheck] = []
        # a gate's own answer (crisis reply, exit, hand-over) is the policy's text, not the model's: unguarded
        guards = rules.guards if ex.answer is None else []
        for guard in guards:
            step = guard.start(ex)
            if step is not None:
                steps.append(step)
        chain = guard_chain(steps)
        # the guard model judges the reply's text before the chain sees it (rules/guard_tier.py)
        judged = feed_for(ex) if steps and ex.state.guard_run is not None else None
        fields = ReplyFields(ex, guards)   # the reply's other texts: choices, reasoning, tool calls
        reply = ex.reply
        head = "".join(ex.prefix)
        # a reply that may be only tool calls gets the proxy's text with its first text, or not at all
        pending = ex.state.may_be_tool_calls
        yield Text("" if pending else head)
        ex.state.prefix_sent = bool(head) and not pending
        trailers: list[dict[str, Any]] = []
        completion: dict[str, Any] | None = None
        released: list[str] = []    # text from one batch of chunks that arrived together: one delta out
        item: Item | None = first
        while item is not None:
            for obj in fields.expand(item if isinstance(item, list) else (item,)):
                choices = obj.get("choices")
                if not choices:
                    trailers.append(obj)          # e.g. the usage chunk of stream_options.include_usage
                    continue
                choice = choices[0]
                message = choice.get("message")
                if message is not None:           # a whole chat.completion (non-streaming)
                    completion = obj
                    text = message.get("content")
                    if isinstance(text, str) and text:
                        released.append(chain.feed(text if judged is None else await judged.feed(text, True)))
                    continue
                delta = choice.get("delta") or {}
                side = bool(choice.get("index"))   # another choice: its texts are guarded by ``fields``
                text = None if side else delta.get("content")
                out: dict[str, Any] | None = obj
                if isinstance(text, str) and text:
                    released.append(chain.feed(text if judged is None else await judged.feed(text)))
                    if len(delta) > 1 or choice.get("finish_reason") is not None:
                        delta = {k: v for k, v in delta.items() if k != "content"}
                        out = {**obj, "choices": [{**choice, "delta": delta}]}
                    else:
                        out = None
                if out is not None:
                    if choice.get("finish_reason") is not None:
                        trailers.append(out)
                    elif side or delta.keys() - {"role", "content"}:
                        text = "".join(released)
                        released.clear()
                        if text:
                            reply.append(text)
                            yield Text(head + text if pending else text)
                            ex.state.prefix_sent = ex.state.prefix_sent or (pending and bool(head))
                            pending = False
                        yield Passthrough(out)   # tool calls and other deltas pass through untouched
            text = "".join(released)
            released.clear()
            if text:
                reply.append(text)
                yield Text(head + text if pending else text)
                ex.state.prefix_sent = ex.state.prefix_sent or (pending and bool(head))
                pending = False
            watch = ex.state.persona_watch
            if watch is not None and watch.error is not None:
                raise watch.error   # consent withdrawn or persona disabled while streaming (DVH-CONSENT-2)
            try:
                item = await source.__anext__()
            except StopAsyncIteration:
                item = None
        if judged is not None:
            tail = await judged.flush()
            rest = (chain.feed(tail) if tail else "") + chain.flush()
        else:
            rest = chain.flush()
        if rest:
            reply.append(rest)
            yield Text(head + rest if pending else rest)
            ex.state.prefix_sent = ex.state.prefix_sent or (pending and bool(head))
            pending = False
        if completion is None:
            for obj in fields.close(first if isinstance(first, dict) else (first[0] if first else None)):
                yield Passthrough(obj)
        for notifier in rules.notifiers:
            notifier.after(ex)
        if pending:
            withhold_text(ex)    # only tool calls: no text of the proxy's, the label and notices as data
        elif ex.suffix:
            yield Text("".join(ex.suffix))
        yield End(completion, trailers)

    # -- 7. record -------------------------------------------------------------------------------------
    async def record(self, ex: Exchange, error: CandorError | None = None) -> None:
        await settle_disclosure(ex, refused=error is not None)
        await self.recorder.record(ex, error)

    async def begin(self, ex: Exchange) -> None:
        """A streamed reply's begin record, durable before its first byte (``recorder.py``)."""
        await self.recorder.begin(ex)


_NO_ROUTE = ModelRoute(name="", adapter="", target="", upstream_model="", api_base=None, api_key=None,
                       timeout=0.0, connect_timeout=0.0)


async def _held(ex: Exchange, source: AsyncIterator[Item], hold: Callable[[], Awaitable[None]]
                ) -> AsyncIterator[Item]:
    """The provider's reply, released only after ``hold`` (the guard's answer on the user's turn) is in.
    Both run at once, so the reply costs max(guard, provider). When the guard's finding makes a gate answer
    (a crisis replaced), the provider's reply is dropped and the answer goes out instead, even if the
    provider failed."""
    try:
        try:
            first: Item | None = await source.__anext__()
            if ex.upstream_started is not None:   # the provider's own time, not the wait for the guard
                ex.upstream_ms = (time.perf_counter() - ex.upstream_started) * 1000.0
        except StopAsyncIteration:
            first = None
            await hold()
        except CandorError:
            await hold()
            if ex.answer is None:
                raise
            first = None
        else:
            await hold()
        if ex.answer is not None:
            async for obj in _answer_source(ex):
                yield obj
            return
        if first is None:
            return
        yield first
        async for item in source:
            yield item
    finally:
        await source.aclose()  # type: ignore[attr-defined]


async def _answer_source(ex: Exchange) -> AsyncIterator[dict[str, Any]]:
    """A gate's own answer (exit, crisis replace), shaped like a provider's reply."""
    assert ex.answer is not None
    base = {"id": f"chatcmpl-candor-{ex.event_id}", "created": int(ex.now), "model": ex.route.name or "candor"}
    if not ex.stream:
        yield {**base, "object": "chat.completion",
               "choices": [{"index": 0, "message": {"role": "assistant", "content": ex.answer},
                            "finish_reason": "stop"}]}
        return
    base["object"] = "chat.completion.chunk"
    yield {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ex.answer},
                                "finish_reason": None}]}
    yield {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}

