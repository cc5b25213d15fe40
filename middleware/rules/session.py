"""The session clock gate: resolves the session and asks the state store what is due.

Runs after the profile gate (which resolves the age band) and before the other gates. The store
applies the request to the user's clocks atomically (so two replicas never both deliver, or both
miss, one reminder) and returns a ``Decision`` that the notice rules read from
``exchange.state.clock``. Minors get the minors' clock (reality reminders, daily limit); everyone
else gets a clock without them, so adults never see a reality reminder or a daily limit.
"""

from __future__ import annotations

from collections.abc import Callable

from middleware.http.errors import CandorError
from middleware.pipeline.context import RequestContext
from middleware.pipeline.exchange import Exchange
from middleware.profiles.models import MINOR_BANDS
from middleware.rules.registry import Build, rule
from middleware.state import ClockParams, Decision, Observation, StateStore, StateStoreError, advance


def scope_key(ctx: RequestContext) -> str | None:
    """The state store's key for the request's user (or app-named session), None when there is none."""
    if ctx.user_id is None and ctx.session_hint is None:
        return None
    return f"{ctx.app_id}\x1f{'u:' + ctx.user_id if ctx.user_id else 's:' + str(ctx.session_hint)}"


def user_scope_key(app_id: str, user_id: str) -> str:
    return f"{app_id}\x1fu:{user_id}"


def is_minor(ex: Exchange) -> bool:
    return ex.state.age_band in MINOR_BANDS


class SessionGate:
    name = "session"

    def __init__(self, params: ClockParams, store: Callable[[], StateStore],
                 attachment: Callable[[Exchange], bool] | None = None,
                 minor_params: ClockParams | None = None) -> None:
        self.params = params
        self.minor_params = minor_params or params
        self._store = store
        self._attachment = attachment

    async def admit(self, ex: Exchange) -> None:
        ctx = ex.ctx
        params = self.minor_params if is_minor(ex) else self.params
        # the user's words, normalised once for every request-side detector (rules/text.py)
        signal = bool(self._attachment and ex.state.user_text and self._attachment(ex))
        obs = Observation(now=ex.now, session_hint=ctx.session_hint, attachment_signal=signal)
        decision: Decision
        scope = scope_key(ctx)
        ex.state.scope = scope
        if scope is None:
            # nobody to recognise next time: every request is a first turn (the safe side of disclosure)
            _, decision = advance(None, obs, params)
        else:
            try:
                decision = await self._store().observe(scope, obs, params)
            except StateStoreError as exc:
                raise CandorError(503, "state_unavailable",
                                  f"the session state store is unreachable ({exc}); usage clocks cannot be kept, "
                                  "so Candor does not answer: retry shortly") from exc
        ctx.session_id = decision.session_id
        ex.state.clock = decision
        if decision.disclose and scope is not None:
            store, key = self._store(), scope

            async def owe() -> None:
                await store.owe_disclosure(key)
            ex.state.owe_disclosure = owe


@rule("session", stage="gate", order=40)
def _session(b: Build) -> SessionGate:
    from middleware.rules.compile import clock_params

    return SessionGate(clock_params(b.policy), b.deps.state, b.attachment, clock_params(b.policy, minor=True))
