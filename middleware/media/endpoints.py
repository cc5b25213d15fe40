"""``POST /v1/images/generations``, ``/v1/images/edits`` and ``/v1/audio/speech`` (contract 6.4).

Same app keys, policy, persona and consent gates and audit events as chat. Every file the provider
returns is labelled before it leaves (``labelling.py``): images come back as ``b64_json`` with
``compliance`` on the body, audio with ``X-Candor-*`` headers. A file that cannot be labelled is never
delivered: the app gets 502 (or 413 for an upload over ``media.max_upload_bytes``) in the OpenAI error
shape, and the audit log gets the error event.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from middleware.audit.unauth import UnauthenticatedTally
from middleware.config.deployment import CandorConfig
from middleware.http.auth import AppKeys
from middleware.http.errors import CandorError, crash_error, log_crash
from middleware.http.requests import read_body
from middleware.likeness.models import Kind
from middleware.logs import get_logger
from middleware.media.gates import media_gates
from middleware.media.labelling import Labeller
from middleware.media.requests import parse_edit_form, parse_images_body, parse_speech_body
from middleware.media.upstream import ImageRequest, MediaUpstream, Operation, SpeechRequest, Upload
from middleware.pipeline.context import resolve_context
from middleware.pipeline.exchange import Exchange
from middleware.pipeline.lifecycle import client_host, finish, refuse
from middleware.pipeline.stages import Pipeline
from middleware.pipeline.upstream import UpstreamFailure
from middleware.services import PolicySource

log = get_logger()


@dataclass(slots=True)
class MediaDeps:
    config: CandorConfig
    keys: AppKeys
    policies: PolicySource
    default_policy: str
    pipeline: Pipeline
    upstreams: Callable[[], dict[str, MediaUpstream]]
    labeller: Labeller
    unauthenticated: UnauthenticatedTally | None = None   # keyless requests counted, not recorded one by one


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json", headers=headers)


class MediaEndpoints:
    def __init__(self, deps: MediaDeps) -> None:
        self.d = deps

    def routes(self) -> list[Route]:
        return [Route("/v1/images/generations", self.generations, methods=["POST"]),
                Route("/v1/images/edits", self.edits, methods=["POST"]),
                Route("/v1/audio/speech", self.speech, methods=["POST"])]

    # -- the three endpoints -------------------------------------------------------------------

    async def generations(self, request: Request) -> Response:
        return await self._images(request, "generations")

    async def edits(self, request: Request) -> Response:
        return await self._images(request, "edits")

    async def _images(self, request: Request, operation: Operation) -> Response:
        state = _State()
        try:
            app = self._auth(request, state)
            files: list[Upload] = []
            if operation == "edits":
                raw = await read_body(request, self.d.config.media.max_upload_bytes)
                body, files = await parse_edit_form(request.headers, raw)
            else:
                body = parse_images_body(await read_body(request, self.d.config.server.max_body_bytes))
            state.body = body
            ex = await self._admit(request, app, body, body["prompt"], ("face",), state)
            upstream = self._upstream(ex)
            ex.upstream_started = time.perf_counter()
            reply = await upstream.images(ImageRequest(ex.route, operation, {**body, "model": ex.route.upstream_model},
                                                       files))
            ex.upstream_ms = (time.perf_counter() - ex.upstream_started) * 1000.0
            out = await self.d.labeller.images(ex, reply)
            await self.d.pipeline.record(ex)
        except CandorError as err:
            return await self._refuse(err, state)
        except Exception as exc:   # a bug: still answered in the OpenAI shape, and recorded
            return await self._refuse(_internal(request, exc), state)
        self._finished(ex)
        return _json({**out, "compliance": ex.compliance()}, headers=_headers(ex))

    async def speech(self, request: Request) -> Response:
        state = _State()
        try:
            app = self._auth(request, state)
            body = parse_speech_body(await read_body(request, self.d.config.server.max_body_bytes))
            state.body = body
            ex = await self._admit(request, app, body, body["input"], ("voice",), state)
            upstream = self._upstream(ex)
            ex.upstream_started = time.perf_counter()
            audio = await upstream.speech(SpeechRequest(ex.route, {**body, "model": ex.route.upstream_model}))
            ex.upstream_ms = (time.perf_counter() - ex.upstream_started) * 1000.0
            labelled = await self.d.labeller.audio(ex, audio)
            await self.d.pipeline.record(ex)
        except CandorError as err:
            return await self._refuse(err, state)
        except Exception as exc:   # a bug: still answered in the OpenAI shape, and recorded
            return await self._refuse(_internal(request, exc), state)
        self._finished(ex)
        headers = _headers(ex)
        headers.update(self.d.labeller.audio_headers(ex, labelled))
        return Response(labelled.data, media_type=labelled.media_type, headers=headers)

    # -- shared steps ----------------------------------------------------------------------------

    def _auth(self, request: Request, state: _State) -> Any:
        state.source = client_host(request)
        app = self.d.keys.authenticate(request.headers.get("authorization"))
        state.app_id, state.policy_id = app.id, app.policy
        return app

    async def _admit(self, request: Request, app: Any, body: dict[str, Any], text: str, kinds: Sequence[Kind],
                     state: _State) -> Exchange:
        pipeline = self.d.pipeline
        ctx = resolve_context(app.id, request.headers, body)
        policy = self.d.policies.get(app.policy)
        ex = pipeline.exchange(ctx, policy, pipeline.route(body), body, False)
        state.ex = ex
        pipeline.recorder.admit(ex)   # fail closed before the provider is called
        ex.state.user_text = text    # what identity-check and minors detection read
        for gate in media_gates(pipeline.rules_for(policy), kinds):
            await gate.admit(ex)
        return ex

    def _upstream(self, ex: Exchange) -> MediaUpstream:
        upstream = self.d.upstreams().get(ex.route.adapter)
        if upstream is None:
            raise CandorError(400, "invalid_request",
                              f"model {ex.route.name!r} ({ex.route.target}) has no images or speech adapter",
                              param="model")
        return upstream

    def _finished(self, ex: Exchange) -> None:
        finish(ex, media=True)

    async def _refuse(self, err: CandorError, state: _State) -> Response:
        if state.ex is not None and isinstance(err, UpstreamFailure):
            self.d.pipeline.upstream_failed(state.ex, err)   # counted like chat's provider errors
        return await refuse(self.d.pipeline, self.d.policies, self.d.default_policy, err, state.ex,
                            state.app_id or "-", state.policy_id or self.d.default_policy, state.body or {},
                            unauthenticated=self.d.unauthenticated, source=state.source, media=True)


@dataclass(slots=True)
class _State:
    app_id: str | None = None
    policy_id: str | None = None
    body: dict[str, Any] | None = None
    ex: Exchange | None = None
    source: str = "-"


def _internal(request: Request, exc: Exception) -> CandorError:
    """A bug: logged with its traceback (one boundary's way), answered as the one internal error."""
    log_crash(request.url.path, exc)
    return crash_error()


def _headers(ex: Exchange) -> dict[str, str]:
    headers = {"x-candor-policy": ex.policy.id, "x-candor-policy-version": ex.policy.version,
               "x-candor-event-id": ex.event_id}
    if ex.ctx.session_id:
        headers["x-candor-session"] = ex.ctx.session_id
    return headers
