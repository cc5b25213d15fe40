"""The record stage: every exchange, refusal and error becomes one audit event, durably, before the
reply completes (before ``[DONE]`` when streaming).

What goes in the event is what the rules decided and delivered (``Exchange``); message content goes
only to the encrypted content store, and only when the policy says ``store_content``. A policy with
``audit.fail: closed`` refuses traffic (503 ``audit_unavailable``) while the store is down; ``open``
spools events to local disk and replays them later. Either way no event is lost.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import orjson

from middleware.audit.events import AuditEventInvalid, AuditUnavailable, EventDraft, new_event_id
from middleware.audit.log import AuditLog
from middleware.http.errors import CandorError
from middleware.pipeline.exchange import Exchange


def audit_unavailable(detail: str) -> CandorError:
    return CandorError(503, "audit_unavailable",
                       f"the audit log cannot be written ({detail}) and the policy says fail closed (audit.fail: "
                       "closed): no reply is given without its record. Retry shortly; operators: check "
                       "audit.url and /readyz")


def unrecordable(reason: str) -> CandorError:
    return CandorError(400, "invalid_request",
                       f"this request cannot be recorded in the audit log ({reason}), and no reply goes out "
                       "unrecorded: send plainer JSON (less deeply nested, valid UTF-8, within the size limits)")


class AuditRecorder:
    def __init__(self, audit: Callable[[], AuditLog]) -> None:
        self._audit = audit

    def admit(self, ex: Exchange) -> None:
        """Fail closed before calling the model, not after: no reply may go out unrecorded. A body that
        cannot be encoded again (nested deeper than JSON encoders go, lone surrogates) can neither be
        sent upstream nor recorded: it is this request's 400, decided here, before the model is called."""
        if ex.policy.audit.fail == "closed" and not self._audit().healthy:
            raise audit_unavailable("the audit store is unreachable (audit.fail: closed)")
        try:
            orjson.dumps(ex.body)
        except (TypeError, ValueError) as exc:   # orjson.JSONEncodeError is a TypeError
            raise unrecordable(f"the request body cannot be encoded: {exc}") from None

    async def begin(self, ex: Exchange) -> None:
        """A streamed reply is recorded before it speaks: this ``stream_begin`` event is committed (or,
        fail open, spooled) before the first byte goes out, and names the exchange event that will
        complete it. A stream cut by a crash stays visible as begun and not finished (``audit report``).
        Fail closed, a begin that cannot be made durable refuses the reply (503) before any text."""
        ctx = ex.ctx
        draft = EventDraft(
            event_id=new_event_id(), kind="stream_begin", app_id=ctx.app_id, user_id=ctx.user_id,
            session_id=ctx.session_id, persona_id=ctx.persona_id, policy_id=ex.policy.id,
            policy_version=ex.policy.version, upstream_model=ex.route.target or None,
            decisions=[{"rule": "stream.begin", "cites": ["ANTH-LOG-1"], "outcome": "begun",
                        "detail": {"exchange_event_id": ex.event_id}}],
            fail_mode=ex.policy.audit.fail)
        try:
            await self._audit().append(draft)
        except AuditEventInvalid as exc:
            await self._rejected(ex, draft, str(exc))
        except AuditUnavailable as exc:
            raise audit_unavailable(str(exc) or "the audit store is unreachable") from exc
        ex.state.audit_begin_id = draft.event_id

    async def record(self, ex: Exchange, error: CandorError | None = None) -> None:
        decisions = list(ex.decisions)
        ctx = ex.ctx
        # the band the rules used: the profile's, else the app's header, minors mode applied (rules/profile.py)
        band = ex.state.age_band
        if band:
            source = ex.state.age_band_source or "header"
            decisions.insert(0, {"rule": "age_band", "cites": [], "outcome": "claimed" if source == "header" else
                                 "resolved", "detail": {"age_band": band, "source": source}})
        if ex.state.audit_begin_id:
            decisions.append({"rule": "stream.end", "cites": ["ANTH-LOG-1"], "outcome": "finished",
                              "detail": {"begin_event_id": ex.state.audit_begin_id}})
        if error is not None:
            decisions.append({"rule": "refusal" if error.is_refusal else "error", "cites": [],
                              "outcome": "refused" if error.is_refusal else "failed",
                              "detail": {"code": error.code, "message": error.message}})
        settings = ex.policy.audit
        content: dict[str, Any] | None = None
        if settings.store_content and ctx.user_id and ex.body.get("messages"):
            content = {"messages": ex.body["messages"]}
            if ex.reply or ex.prefix or ex.suffix:
                content["reply"] = "".join(ex.prefix) + "".join(ex.reply) + "".join(ex.suffix)
        draft = EventDraft(
            event_id=ex.event_id, kind=ex.kind, app_id=ctx.app_id, user_id=ctx.user_id,
            session_id=ctx.session_id, persona_id=ctx.persona_id, policy_id=ex.policy.id,
            policy_version=ex.policy.version, decisions=decisions, notices=ex.notices, status=ex.status,
            latency_ms=round(ex.latency_ms, 3), upstream_model=ex.route.target or None, content=content,
            fail_mode=settings.fail,
        )
        if ex.state.audit_rejected:
            return   # its stand-in event is already written; the refusal that follows is that event
        try:
            await self._audit().append(draft)
            if ex.state.unlabeled and error is None and "unlabeled_delivery" in ex.actions:
                await self._audit().append(self._unlabeled(ex))
        except AuditEventInvalid as exc:
            await self._rejected(ex, draft, str(exc))
        except AuditUnavailable as exc:
            raise audit_unavailable(str(exc) or "the audit store is unreachable") from exc

    async def _rejected(self, ex: Exchange, draft: EventDraft, reason: str) -> None:
        """One event could not be encoded or was over the bounds: this request's error (400), recorded
        by a small event of its own that holds none of the offending data. Never a store outage."""
        ex.state.audit_rejected = True
        err = unrecordable(reason)
        ex.status, ex.kind = err.status, "error"
        def short(value: str | None) -> str | None:
            return value if value is None or len(value) <= 256 else None

        small = EventDraft(
            event_id=ex.event_id, kind="error", app_id=short(draft.app_id), user_id=short(draft.user_id),
            session_id=short(draft.session_id), persona_id=short(draft.persona_id), policy_id=draft.policy_id,
            policy_version=draft.policy_version, status=err.status, latency_ms=draft.latency_ms,
            upstream_model=draft.upstream_model, fail_mode=draft.fail_mode,
            decisions=[{"rule": "audit.event_rejected", "cites": ["ANTH-LOG-1"], "outcome": "failed",
                        "detail": {"code": err.code, "reason": reason[:300], "kind": draft.kind,
                                   "status": draft.status}}])
        try:
            await self._audit().append(small)
        except AuditUnavailable as exc:
            raise audit_unavailable(str(exc) or "the audit store is unreachable") from exc
        raise err

    @staticmethod
    def _unlabeled(ex: Exchange) -> EventDraft:
        """LABEL-UNLABELED-1: each delivery without the explicit label is logged with its recipient
        (``user_ref``, from the user id), its time and a SHA-256 of exactly what was delivered."""
        delivered = "".join(ex.prefix) + "".join(ex.reply) + "".join(ex.suffix)   # a gate's answer is in reply
        ctx = ex.ctx
        return EventDraft(
            event_id=new_event_id(), kind="unlabeled_delivery", app_id=ctx.app_id, user_id=ctx.user_id,
            session_id=ctx.session_id, persona_id=ctx.persona_id, policy_id=ex.policy.id,
            policy_version=ex.policy.version,
            decisions=[{"rule": "unlabeled_delivery", "cites": ["LABEL-UNLABELED-1"], "outcome": "delivered",
                        "detail": {"exchange_event_id": ex.event_id, "content_sha256":
                                   hashlib.sha256(delivered.encode()).hexdigest(), "chars": len(delivered)}}],
            status=ex.status, fail_mode=ex.policy.audit.fail)
