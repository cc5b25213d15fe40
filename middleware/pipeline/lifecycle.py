"""How a request ends, whichever endpoint served it (chat, Responses, embeddings, media): its cleanups,
metrics and log line, and a refusal or error answered in the OpenAI shape with its own audit event."""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from middleware import metrics
from middleware.audit.unauth import UnauthenticatedTally
from middleware.http.errors import CandorError, crash_error, log_crash
from middleware.logs import get_logger
from middleware.pipeline.context import RequestContext
from middleware.pipeline.exchange import Exchange
from middleware.pipeline.stages import Pipeline
from middleware.services import PolicySource

log = get_logger()


def client_host(request: Request) -> str:
    """Where a request came from, for the unauthenticated tally."""
    return request.client.host if request.client else "-"


def finish(ex: Exchange, **fields: Any) -> None:
    """The request is over: its cleanups run, and it is counted and logged once."""
    ex.close()
    seconds = time.perf_counter() - ex.started
    metrics.observe(ex.route.name or "-", ex.status, seconds, ex.upstream_ms)
    log.info("request", app=ex.ctx.app_id, model=ex.route.name or None, status=ex.status, **fields,
             latency_ms=round(seconds * 1000.0, 3),
             upstream_ms=None if ex.upstream_ms is None else round(ex.upstream_ms, 3),
             event_id=ex.event_id, policy=ex.policy.id)


async def refuse(pipeline: Pipeline, policies: PolicySource, default_policy: str, err: CandorError,
                 ex: Exchange | None, app_id: str, policy_id: str, body: dict[str, Any], *,
                 unauthenticated: UnauthenticatedTally | None = None, source: str = "-",
                 **fields: Any) -> Response:
    """A refusal or an error: recorded (on an exchange made for it when none exists yet), then finished.

    A request without a valid key is counted per source instead (one audit event per interval, by the
    tally), on every endpoint alike: a keyless flood cannot fill the log."""
    if err.status == 401 and ex is None and unauthenticated is not None:
        unauthenticated.count(source)
        return Response(err.json(), status_code=err.status, media_type="application/json", headers=err.headers)
    if ex is None:
        try:
            policy = policies.get(policy_id)
        except KeyError:
            policy = policies.get(default_policy)
        ctx = RequestContext(app_id=app_id, user_id=None, session_hint=None, persona_id=None,
                             age_band=None, client_renders=frozenset())
        ex = pipeline.exchange(ctx, policy, None, body, bool(body.get("stream")))
    ex.status = err.status
    ex.kind = "refusal" if err.is_refusal else "error"
    if err.is_refusal:
        metrics.REFUSALS.labels(err.code).inc()
    headers = {"x-candor-event-id": ex.event_id, "x-candor-policy": ex.policy.id}
    try:
        await pipeline.record(ex, err)
    except CandorError as audit_err:   # the record could not be kept and the policy fails closed
        err = audit_err
        ex.status = err.status
    except Exception as exc:
        log_crash("audit", exc, event_id=ex.event_id)
        err = crash_error()
        ex.status = err.status
    finally:
        finish(ex, **fields)
    return Response(err.json(), status_code=err.status, media_type="application/json",
                    headers={**err.headers, **headers})
