"""``POST /v1/embeddings``: relayed to the model's provider and recorded as metadata only.

Embeddings are not a conversation: no notice, label or dialogue rule applies to a vector. What the
audit log keeps is that it happened (app, user, model, how many inputs, dimensions, tokens, status),
never the text: the event's decision is ``embeddings`` and the event has no ``content_ref``.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from middleware.http.app import ChatEndpoint
from middleware.http.errors import CandorError, crash_error, invalid_request, log_crash
from middleware.http.requests import read_body
from middleware.pipeline.context import resolve_context
from middleware.pipeline.exchange import Exchange
from middleware.pipeline.lifecycle import client_host
from middleware.pipeline.upstream import UpstreamRequest

PATH = "/v1/embeddings"


def parse_embeddings_body(raw: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError as exc:
        raise invalid_request(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise invalid_request("the request body must be a JSON object with 'model' and 'input'")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise invalid_request("'model' is required and must be a string (GET /v1/models lists them)", param="model")
    given = body.get("input")
    ok = (isinstance(given, str) and given != "") or (
        isinstance(given, list) and given != [] and (
            all(isinstance(x, str) for x in given)
            or all(isinstance(x, int) and not isinstance(x, bool) for x in given)
            or all(isinstance(x, list) and x and all(isinstance(t, int) for t in x) for x in given)))
    if not ok:
        raise invalid_request("'input' must be a non-empty string, an array of strings, an array of token ids "
                              "or an array of token-id arrays", param="input")
    if body.get("encoding_format") not in (None, "float", "base64"):
        raise invalid_request("'encoding_format' must be float or base64", param="encoding_format")
    dims = body.get("dimensions")
    if dims is not None and (not isinstance(dims, int) or isinstance(dims, bool) or dims < 1):
        raise invalid_request("'dimensions' must be a positive integer", param="dimensions")
    return body


def _count(given: Any) -> int:
    if isinstance(given, list) and given and not isinstance(given[0], int):
        return len(given)
    return 1


class EmbeddingsEndpoint(ChatEndpoint):
    path = PATH

    async def handle(self, request: Request) -> Response:
        ex: Exchange | None = None
        app_id, policy_id = "-", self.s.default_policy
        body: dict[str, Any] = {}
        try:
            app = self.s.keys.authenticate(request.headers.get("authorization"))
            app_id, policy_id = app.id, app.policy
            body = parse_embeddings_body(await read_body(request, self.limit))
            ctx = resolve_context(app.id, request.headers, body)
            route = self.pipeline.route(body)
            ex = self.pipeline.exchange(ctx, self.s.policies.get(app.policy), route, body, False)
            self.pipeline.recorder.admit(ex)    # fail closed before the provider is called
            upstream = self.pipeline.upstreams.get(route.adapter)
            embed = getattr(upstream, "embeddings", None)
            if embed is None:
                raise invalid_request(f"model {route.name!r} cannot make embeddings: its adapter "
                                      f"({route.adapter}) has none", param="model")
            try:
                result: dict[str, Any] = await embed(UpstreamRequest(route=route, body={**body, "model":
                                                                                        route.upstream_model},
                                                                     stream=False))
            except CandorError as err:
                self.pipeline.upstream_failed(ex, err)
                raise
            data = result.get("data") or []
            first = data[0].get("embedding") if data and isinstance(data[0], dict) else None
            usage = result.get("usage") or {}
            ex.decide("embeddings", [], "relayed", {
                "inputs": _count(body["input"]), "vectors": len(data),
                "dimensions": len(first) if isinstance(first, list) else None,
                "encoding_format": body.get("encoding_format") or "float",
                "input_tokens": usage.get("prompt_tokens")})
            await self.pipeline.record(ex)
        except CandorError as err:
            return await self._refuse(err, ex, app_id, policy_id, body, source=client_host(request))
        except Exception as exc:
            log_crash(PATH, exc, event_id=ex.event_id if ex else None)
            return await self._refuse(crash_error(), ex, app_id, policy_id, body)
        self._finished(ex)
        result["model"] = route.name
        headers = {"x-candor-policy": ex.policy.id, "x-candor-event-id": ex.event_id}
        return Response(orjson.dumps(result), media_type="application/json", headers=headers)
