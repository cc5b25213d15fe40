"""One request's journey through the pipeline: what was decided, noticed, labelled and answered.

Rules write here; the renderers turn it into the reply's ``compliance`` object and the audit event
turns it into the record. A rule that did not run records nothing: never a pass it did not earn.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from middleware.pipeline.context import RequestContext
from middleware.pipeline.request_state import RequestState
from middleware.pipeline.upstream import ModelRoute

if TYPE_CHECKING:
    from middleware.policy.model import Policy


class PolicyRef(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def version(self) -> str: ...


@dataclass(slots=True)
class Exchange:
    ctx: RequestContext
    policy: Policy                   # the resolved policy the whole request sees (one atomic reference)
    event_id: str
    route: ModelRoute
    body: dict[str, Any]
    stream: bool
    started: float = field(default_factory=time.perf_counter)
    now: float = field(default_factory=time.time)
    notices: list[dict[str, Any]] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    label: dict[str, Any] | None = None
    crisis: dict[str, Any] | None = None
    prefix: list[str] = field(default_factory=list)     # text the proxy sends before the reply
    suffix: list[str] = field(default_factory=list)     # text the proxy sends after the reply
    system: list[str] = field(default_factory=list)     # system instructions the policy adds
    reply: list[str] = field(default_factory=list)      # the text actually delivered (for the record)
    answer: str | None = None        # a gate answered by itself (exit, crisis replace): no model call
    kind: str = "exchange"           # audit event kind
    status: int = 200
    upstream_started: float | None = None
    upstream_ms: float | None = None
    state: RequestState = field(default_factory=RequestState)  # what the gates learnt (request_state.py)
    cleanups: list[Callable[[], None]] = field(default_factory=list)  # run once, when the request ends

    def __post_init__(self) -> None:
        self.state.age_band = self.ctx.age_band   # the app's claim, until a profile says otherwise

    def close(self) -> None:
        """Run the request's cleanups once, whatever ended it (reply, refusal, error or hang-up); one that
        fails does not keep the others from running."""
        cleanups, self.cleanups = self.cleanups, []
        for cleanup in reversed(cleanups):
            try:
                cleanup()
            except Exception as exc:
                from middleware.http.errors import log_crash

                log_crash("cleanup", exc, event_id=self.event_id)

    def decide(self, rule: str, cites: list[str] | tuple[str, ...], outcome: str,
               detail: Any = None) -> None:
        self.decisions.append({"rule": rule, "cites": list(cites), "outcome": outcome, "detail": detail})

    def notice(self, kind: str, text: str, display: str = "popup", **extra: Any) -> dict[str, Any]:
        item: dict[str, Any] = {"kind": kind, "text": text, "display": display, **extra}
        self.notices.append(item)
        return item

    def act(self, action: str) -> None:
        if action not in self.actions:
            self.actions.append(action)

    @property
    def latency_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000.0

    def compliance(self) -> dict[str, Any]:
        return {
            "policy": {"id": self.policy.id, "version": self.policy.version},
            "session_id": self.ctx.session_id,
            "event_id": self.event_id,
            "notices": self.notices,
            "label": self.label,
            "actions": self.actions,
            "crisis": self.crisis,
        }
