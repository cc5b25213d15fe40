"""The ASGI application: the OpenAI-compatible surface, health, readiness and metrics."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Message, Receive, Scope, Send

from middleware import metrics
from middleware.http.admin_auth import role_of
from middleware.http.errors import CandorError, crash_error, log_crash
from middleware.http.openapi import openapi_document, served
from middleware.http.requests import parse_chat_body, read_body
from middleware.logs import get_logger
from middleware.pipeline.context import RequestContext, resolve_context
from middleware.pipeline.exchange import Exchange
from middleware.pipeline.lifecycle import client_host, finish, refuse
from middleware.pipeline.render import SSEResponse, collect_reply, stream_reply
from middleware.pipeline.stages import Item
from middleware.rules.base import RuleSet
from middleware.services import Services

_JSON = "application/json"
log = get_logger()


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type=_JSON, headers=headers)


def internal_error(path: str, exc: BaseException) -> Response:
    """A bug, not a refusal: logged with its traceback, answered in the OpenAI error shape."""
    log_crash(path, exc)
    return error_response(crash_error())


def error_response(err: CandorError, headers: dict[str, str] | None = None) -> Response:
    return Response(err.json(), status_code=err.status, media_type=_JSON, headers={**err.headers, **(headers or {})})


async def _settled(begun: asyncio.Future[None] | None) -> None:
    """Wait for a stream's begin record (its own failure is the refusal's business, not raised here)."""
    if begun is not None:
        with contextlib.suppress(Exception):
            await begun


class ChatEndpoint:
    """``POST /v1/chat/completions``. Another wire format on the same pipeline (``/v1/responses``)
    subclasses it and replaces ``parse``, ``streamed`` and ``collected``: one lifecycle, one set of rules."""

    path = "/v1/chat/completions"

    def __init__(self, services: Services) -> None:
        self.s = services
        self.pipeline = services.pipeline
        self.limit = services.config.server.max_body_bytes

    def _finished(self, ex: Exchange) -> None:
        finish(ex, stream=ex.stream)

    async def handle(self, request: Request) -> Response | SSEResponse:
        ex: Exchange | None = None
        app_id, policy_id = "-", self.s.default_policy
        body: dict[str, Any] = {}
        begun: asyncio.Future[None] | None = None
        try:
            app = self.s.keys.authenticate(request.headers.get("authorization"))
            app_id, policy_id = app.id, app.policy
            body = self.parse(await read_body(request, self.limit))
            ctx = resolve_context(app.id, request.headers, body)
            policy = self.s.policies.get(app.policy)
            ex = self.pipeline.exchange(ctx, policy, self.pipeline.route(body), body, body.get("stream") is True)
            self.begin(ex)
            rules = await self.pipeline.admit(ex)
            source = self.pipeline.source(ex)
            if ex.stream:
                # a stream is recorded before it speaks: its begin record is written while the provider
                # prepares the first chunk, and is durable before the first byte (awaited below)
                begun = asyncio.ensure_future(self.pipeline.begin(ex))
            first = await self.pipeline.first(ex, source)
        except CandorError as err:
            await _settled(begun)   # a refusal after the begin record finishes it
            return await self._refuse(err, ex, app_id, policy_id, body, source=client_host(request))
        except Exception as exc:   # a bug: the same lifecycle as a refusal, as a 500 with its traceback
            await _settled(begun)
            log_crash(request.url.path, exc, event_id=ex.event_id if ex else None)
            return await self._refuse(crash_error(), ex, app_id, policy_id, body)
        except BaseException:   # cancelled (shutdown): the begin record is not waited for
            if begun is not None:
                begun.cancel()
            raise
        headers = {"x-candor-policy": ex.policy.id, "x-candor-policy-version": ex.policy.version,
                   "x-candor-event-id": ex.event_id}
        if ex.ctx.session_id:
            headers["x-candor-session"] = ex.ctx.session_id
        if begun is not None:
            try:   # recorded before it speaks: the begin record is durable before the first byte
                await begun
            except Exception as exc:
                with contextlib.suppress(Exception):
                    await source.aclose()  # type: ignore[attr-defined]
                if not isinstance(exc, CandorError):
                    log_crash(request.url.path, exc, event_id=ex.event_id)
                return await self._refuse(exc if isinstance(exc, CandorError) else crash_error(), ex, app_id,
                                          policy_id, body)
            return SSEResponse(self.streamed(ex, rules, first, source), headers)
        try:
            reply = await self.collected(ex, rules, first, source)
        except CandorError as err:
            return await self._refuse(err, ex, app_id, policy_id, body)
        except Exception as exc:
            log_crash(request.url.path, exc, event_id=ex.event_id)
            return await self._refuse(crash_error(), ex, app_id, policy_id, body)
        finally:
            with contextlib.suppress(Exception):
                await source.aclose()  # type: ignore[attr-defined]
        self._finished(ex)
        return _json(reply, headers=headers)

    def parse(self, raw: bytes) -> dict[str, Any]:
        """The request body as the chat body the pipeline reads."""
        return parse_chat_body(raw)

    def begin(self, ex: Exchange) -> None:
        """Called once the exchange exists, before any rule runs (a subclass keeps its own request state)."""

    def streamed(self, ex: Exchange, rules: RuleSet, first: Item, source: AsyncIterator[Item]
                 ) -> AsyncIterator[bytes]:
        return stream_reply(self.pipeline, ex, rules, first, source, self._finished)

    async def collected(self, ex: Exchange, rules: RuleSet, first: Item, source: AsyncIterator[Item]
                        ) -> dict[str, Any]:
        return await collect_reply(self.pipeline, ex, rules, first, source)

    async def busy(self, request: Request, limit: int, retry_after: float) -> Response:
        """503 ``server_busy``: this worker already serves ``limit`` model requests. Answered at once
        (no body read, no rule run) and recorded like any error; a request without a valid key gets its
        401 as usual."""
        metrics.OVERLOAD.labels("server_busy").inc()
        err = CandorError(503, "server_busy",
                          f"this Candor worker is already serving {limit} requests; retry shortly. Operators: "
                          "raise server.max_in_flight in candor.yaml or add workers",
                          headers={"Retry-After": str(max(1, round(retry_after)))})
        app_id, policy_id = "-", self.s.default_policy
        try:
            app = self.s.keys.authenticate(request.headers.get("authorization"))
            app_id, policy_id = app.id, app.policy
        except CandorError as auth_err:
            err = auth_err
        return await self._refuse(err, None, app_id, policy_id, {}, source=client_host(request))

    async def _refuse(self, err: CandorError, ex: Exchange | None, app_id: str, policy_id: str,
                      body: dict[str, Any], source: str = "-") -> Response:
        return await refuse(self.pipeline, self.s.policies, self.s.default_policy, err, ex, app_id, policy_id,
                            body, unauthenticated=self.s.unauthenticated, source=source,
                            stream=bool(ex.stream if ex is not None else body.get("stream")))

    async def record_crash(self, path: str, exc: BaseException) -> None:
        """The audit event of a bug outside the chat route (admin, auditor and other endpoints)."""
        ctx = RequestContext(app_id="-", user_id=None, session_hint=None, persona_id=None,
                             age_band=None, client_renders=frozenset())
        ex = self.pipeline.exchange(ctx, self.s.policies.get(self.s.default_policy), None, {}, False)
        ex.status, ex.kind = 500, "error"
        ex.decide("error_boundary", (), "error", {"path": path, "exception": type(exc).__name__})
        try:
            await self.pipeline.record(ex, crash_error())
        except Exception as audit_exc:
            log_crash("audit", audit_exc, event_id=ex.event_id)


def asgi_app(services: Services) -> CandorASGI:
    cfg = services.config

    async def models(request: Request) -> Response:
        services.keys.authenticate(request.headers.get("authorization"))
        created = int(time.time())
        data = [{"id": name, "object": "model", "created": created, "owned_by": "candor"}
                for name in services.pipeline.routes]
        return _json({"object": "list", "data": data})

    async def healthz(request: Request) -> Response:
        return _json({"status": "ok"})

    async def readyz(request: Request) -> Response:
        # Details (store URLs, paths, errors) only for the operator's keys: a load balancer needs the
        # status, and nobody else needs to learn where the database lives.
        try:
            detailed = role_of(request, cfg) in ("admin", "auditor")
        except CandorError:
            detailed = False
        checks: dict[str, dict[str, Any]] = {}
        ok = True
        for check in services.ready_checks:
            name, good, detail = await check()
            checks[name] = {"ok": good, "detail": detail} if detailed else {"ok": good}
            ok = ok and good
        return _json({"status": "ready" if ok else "unavailable", "checks": checks}, 200 if ok else 503)

    async def metrics_endpoint(request: Request) -> Response:
        return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        for hook in services.on_startup:
            await hook()
        # what start-up built lives as long as the process: keep it out of every garbage collection
        gc.freeze()
        try:
            yield
        finally:
            for hook in reversed(services.on_shutdown):
                with contextlib.suppress(Exception):
                    await hook()

    async def on_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, CandorError):
            return error_response(exc)
        if isinstance(exc, HTTPException):
            code = "not_found" if exc.status_code == 404 else "invalid_request"
            what = f"{request.method} {request.url.path}"
            msg = (f"{what} does not exist. Candor serves: {', '.join(f'{m} {p}' for m, p in served(routes))} "
                   "(GET /openapi.json describes them)" if exc.status_code == 404 else f"{what}: {exc.detail}")
            return error_response(CandorError(exc.status_code, code, msg))
        await chat.record_crash(request.url.path, exc)
        return internal_error(request.url.path, exc)

    from middleware.http.embeddings import EmbeddingsEndpoint
    from middleware.responses.endpoint import ResponsesEndpoint

    async def openapi(request: Request) -> Response:
        from middleware import __version__

        return _json(openapi_document(routes, __version__))

    chat = ChatEndpoint(services)
    routes: list[BaseRoute] = [
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/v1/chat/completions", chat.handle, methods=["POST"]),
        Route("/v1/responses", ResponsesEndpoint(services).handle, methods=["POST"]),
        Route("/v1/embeddings", EmbeddingsEndpoint(services).handle, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        *services.routes,
    ]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={CandorError: on_error, HTTPException: on_error, Exception: on_error})
    app.state.services = services
    app.state.config = cfg
    return CandorASGI(app, chat)


class CandorASGI:
    """Sends ``POST /v1/chat/completions`` straight to its handler; everything else goes through
    Starlette's router and middleware. The generic stack cost about a tenth of the proxy's CPU per
    request in profiles (bench/RESULTS.md), and the hot path needs none of it."""

    def __init__(self, app: Starlette, chat: ChatEndpoint) -> None:
        self.app = app
        self.chat = chat
        self.state = app.state
        server = chat.s.config.server
        self.max_in_flight = server.max_in_flight
        self.retry_after = server.retry_after
        self.in_flight = 0   # model requests (POST /v1/...) being served by this worker, streams to their end

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] != "POST" or not scope["path"].startswith("/v1/"):
            await self._generic(scope, receive, send)
            return
        if self.in_flight >= self.max_in_flight:
            await (await self.chat.busy(Request(scope, receive), self.max_in_flight, self.retry_after))(
                scope, receive, send)
            return
        self.in_flight += 1
        try:
            if scope["path"] == "/v1/chat/completions":
                try:
                    response = await self.chat.handle(Request(scope, receive))
                except Exception as exc:  # the handler answers every exception itself; this is the last net
                    await self.chat.record_crash(scope["path"], exc)
                    response = internal_error(scope["path"], exc)
                await response(scope, receive, send)
            else:
                await self._generic(scope, receive, send)
        finally:
            self.in_flight -= 1

    async def _generic(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            # Starlette's ServerErrorMiddleware answers (our handler logged and recorded it) and then
            # re-raises for the server's sake; the boundary ends here, so uvicorn sees no traceback.
            if not started:
                await self.chat.record_crash(scope["path"], exc)
                await internal_error(scope["path"], exc)(scope, receive, send)
