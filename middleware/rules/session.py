"""The session clock gate: resolves the session and asks the state store what is due.

Runs first among the gates. The store applies the request to the user's clocks atomically (so two
replicas never both deliver, or both miss, one reminder) and returns a ``Decision`` that the notice
rules read from ``exchange.extra["clock"]``.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import CandorError
from ..exchange import Exchange
from ..state import ClockParams, Decision, Observation, StateStore, StateStoreError, advance

CLOCK = "clock"


class SessionGate:
    name = "session"

    def __init__(self, params: ClockParams, store: Callable[[], StateStore],
                 attachment: Callable[[str], bool] | None = None) -> None:
        self.params = params
        self._store = store
        self._attachment = attachment

    async def admit(self, ex: Exchange) -> None:
        ctx = ex.ctx
        signal = bool(self._attachment and self._attachment(ex.extra.get("user_text", "")))
        obs = Observation(now=ex.now, session_hint=ctx.session_hint, attachment_signal=signal)
        decision: Decision
        if ctx.user_id is None and ctx.session_hint is None:
            # nobody to recognise next time: every request is a first turn (the safe side of disclosure)
            _, decision = advance(None, obs, self.params)
        else:
            scope = f"{ctx.app_id}\x1f{'u:' + ctx.user_id if ctx.user_id else 's:' + str(ctx.session_hint)}"
            try:
                decision = await self._store().observe(scope, obs, self.params)
            except StateStoreError as exc:
                raise CandorError(503, "state_unavailable",
                                  f"the session state store is unreachable ({exc}); usage clocks cannot be kept, "
                                  "so Candor does not answer: retry shortly") from exc
        ctx.session_id = decision.session_id
        ex.extra[CLOCK] = decision
