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

from .audit.events import AuditUnavailable, EventDraft, new_event_id
from .audit.log import AuditLog
from .errors import CandorError
from .exchange import Exchange


def audit_unavailable(detail: str) -> CandorError:
    return CandorError(503, "audit_unavailable",
                       f"the audit log cannot be written ({detail}) and the policy says fail closed: no reply "
                       "is given without its record. Retry shortly; operators: check audit.url and /readyz")


class AuditRecorder:
    def __init__(self, audit: Callable[[], AuditLog]) -> None:
        self._audit = audit

    def admit(self, ex: Exchange) -> None:
        """Fail closed before calling the model, not after: no reply may go out unrecorded."""
        if ex.policy.audit.fail == "closed" and not self._audit().healthy:
            raise audit_unavailable("the audit store is unreachable")

    async def record(self, ex: Exchange, error: CandorError | None = None) -> None:
        decisions = list(ex.decisions)
        ctx = ex.ctx
        # the band the rules used: the profile's, else the app's header, minors mode applied (rules/profile.py)
        band = ex.state.age_band
        if band:
            source = ex.state.age_band_source or "header"
            decisions.insert(0, {"rule": "age_band", "cites": [], "outcome": "claimed" if source == "header" else
                                 "resolved", "detail": {"age_band": band, "source": source}})
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
        try:
            await self._audit().append(draft)
            if ex.state.unlabeled and error is None and "unlabeled_delivery" in ex.actions:
                await self._audit().append(self._unlabeled(ex))
        except AuditUnavailable as exc:
            raise audit_unavailable(str(exc) or "the audit store is unreachable") from exc

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
