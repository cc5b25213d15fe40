"""Who the end user is (contract 6.2): the usage clocks follow a user, so a request naming none is either
refused (``identity.anonymous: refuse``, 400 ``user_required``) or served with the loss recorded
(``clocks_off: no_user`` in the audit decision, ``clocks_off`` in ``compliance.actions``). Never silently.

Runs first: a refused request touches no clock and spends no disclosure.
"""

from __future__ import annotations

from middleware.http.errors import CandorError
from middleware.pipeline.exchange import Exchange
from middleware.policy.model import IdentityRules
from middleware.rules.registry import Build, rule

USER_REQUIRED = ("this policy needs to know the end user, because its usage reminders and minors' limits follow "
                 "a user: pass your user's stable id in the request's `user` field or in the X-Candor-User header")


class IdentityGate:
    name = "identity"

    def __init__(self, rules: IdentityRules | None) -> None:
        self.refuse = rules is not None and rules.anonymous == "refuse"
        self.cites = list(rules.cites) if rules is not None else []

    async def admit(self, ex: Exchange) -> None:
        if ex.ctx.user_id is not None:
            return
        if self.refuse:
            ex.decide("identity", self.cites, "refused", {"reason": "no_user"})
            raise CandorError(400, "user_required", USER_REQUIRED, param="user")
        ex.act("clocks_off")
        ex.decide("identity", self.cites, "clocks_off", {"clocks_off": "no_user"})


@rule("identity", stage="gate", order=5)
def _identity(b: Build) -> IdentityGate:
    # first of all: nothing else is decided for a request that is refused for naming no user
    return IdentityGate(b.policy.identity)
