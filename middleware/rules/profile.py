"""Who the user is, as the operator registered them (contract 3.4; ANTH-MINOR-4/5, LABEL-UNLABELED-1).

``ProfileGate`` runs first, before the session clock, because the clock differs for minors:

- loads the user's profile (cached, microseconds) when the request names a user;
- resolves the age band: the profile's, else the app's ``X-Candor-Age-Band``; minors mode (set by
  detection, unless an appeal overrode it) makes it ``minor``;
- suspected minors (ANTH-MINOR-5): a message (or one of the earlier user turns the app sent,
  ``detection.context_turns``) suggesting a minor (detector ``suspected_minor``) raises
  a ``suspected_minor`` alert (at most one per user and day) and, with ``suspected_minor_action:
  minors_mode``, switches the profile to minors mode from this request on. The operator's appeal
  decision (``minors_mode_override`` on the profile) stops both;
- a persona the profile blocks is refused (403 ``user_blocked``, ANTH-MINOR-4 guardian blocks);
- an app asking for unlabelled output (``X-Candor-Unlabeled: 1``) gets it only when the profile says
  ``unlabeled_allowed`` (LABEL-UNLABELED-1); otherwise the reply is labelled as usual and the refusal
  of the exemption is recorded.
"""

from __future__ import annotations

from collections.abc import Callable

from middleware.detectors.minor import MinorDetector
from middleware.http.errors import CandorError
from middleware.pipeline.exchange import Exchange
from middleware.policy.model import Policy
from middleware.profiles.models import MINOR_BANDS, UserProfile, resolve_age_band
from middleware.profiles.service import ProfileService
from middleware.rules.alerting import Alerter
from middleware.rules.detection import normalized
from middleware.rules.registry import Build, rule
from middleware.rules.text import context_turns, user_norm

UNLABELED_CITES = ("LABEL-UNLABELED-1",)
GUARDIAN_CITES = ("ANTH-MINOR-4",)


async def read_profile(ex: Exchange, profiles: ProfileService, user_id: str) -> UserProfile | None:
    """The user's profile. The store is in the audit database: when it is down, a policy that fails
    open (``audit.fail: open``) uses the cached profile, however old, or none for a user never read
    (the header's age band then applies), and records that it did; one that fails closed refuses."""
    try:
        return await profiles.get(user_id)
    except CandorError as err:
        if err.status < 500:
            raise
        if ex.policy.audit.fail != "open":
            raise CandorError(err.status, err.code, f"{err.message} (this policy fails closed, audit.fail: "
                              "closed: with audit.fail: open the cached profile would be used)") from err
    known, profile = profiles.cache.cached(user_id)
    ex.decide("profile", [], "store_unavailable_fail_open", {"cached": known})
    return profile


class ProfileGate:
    name = "profile"

    def __init__(self, policy: Policy, profiles: Callable[[], ProfileService] | None, alerter: Alerter,
                 detector: MinorDetector) -> None:
        self.policy = policy
        self._profiles = profiles
        self.alerter = alerter
        self.detector = detector
        minors = policy.minors
        self.suspect = minors is not None and minors.suspected_minor_action != "off"
        self.switch = minors is not None and minors.suspected_minor_action == "minors_mode"
        self.cites = list(minors.cites) if minors is not None else []

    async def admit(self, ex: Exchange) -> None:
        ctx = ex.ctx
        profile: UserProfile | None = None
        if ctx.user_id is not None and self._profiles is not None:
            profile = await read_profile(ex, self._profiles(), ctx.user_id)
        ex.state.profile = profile
        band = resolve_age_band(profile, ctx.age_band)
        source: str | None
        if profile is not None and profile.minors_mode_active and profile.age_band not in MINOR_BANDS:
            source = "minors_mode"
        elif profile is not None and profile.age_band is not None:
            source = "profile"
        else:
            source = "header" if ctx.age_band else None
        suspect = self.suspect and band not in MINOR_BANDS and not (profile and profile.minors_mode_override)
        if suspect and await self._suspected(ex, profile):
            band, source = "minor", "minors_mode"
        ex.state.age_band = band
        ex.state.age_band_source = source
        if profile is not None and profile.blocks(ctx.persona_id):
            ex.decide("user_blocked", GUARDIAN_CITES, "refused", {"persona": ctx.persona_id})
            raise CandorError(403, "user_blocked",
                              f"persona {ctx.persona_id!r} is blocked for this user by their profile (a guardian or "
                              "operator block); choose another persona, or change the profile's blocked_personas")
        if ctx.unlabeled:
            allowed = profile is not None and profile.unlabeled_allowed
            ex.state.unlabeled = allowed
            ex.decide("unlabeled", UNLABELED_CITES, "allowed" if allowed else "not_allowed")

    async def _suspected(self, ex: Exchange, profile: UserProfile | None) -> bool:
        """Whether this request switches to minors mode."""
        text = ex.state.user_text
        if not text:
            return False
        found = self.detector.detect_normalized(user_norm(ex))   # the request's one normalisation
        where = "message"
        if not found.matched:
            # an age stated a few turns ago still counts (detection.context_turns): without a profile to
            # remember it, the conversation is all there is
            for turn in reversed(context_turns(ex, ex.policy.detection.context_turns)):
                found = self.detector.detect_normalized(normalized(turn))   # read before: the layer keeps it
                if found.matched:
                    where = "context"
                    break
            else:
                return False
        action = "minors_mode" if self.switch else "flagged"
        ex.decide("suspected_minor", self.cites, action, {"rule": found.rule, "in": where, "tier": "pattern",
                                                          "score": 1.0})
        ex.act("suspected_minor")   # the app is told, whatever the policy does about it (ANTH-MINOR-5)
        if self.switch and ex.ctx.user_id is not None and self._profiles is not None and not (
                profile is not None and profile.minors_mode):
            try:
                updated = await self._profiles().mark_suspected_minor(ex.ctx.user_id, reason=found.rule)
            except CandorError as err:
                # fail open: minors mode applies to this request anyway; only its persistence is lost
                if err.status < 500 or ex.policy.audit.fail != "open":
                    raise
                ex.decide("suspected_minor", self.cites, "not_persisted_fail_open", {"rule": found.rule})
            else:
                ex.state.profile = updated
        await self.alerter.send(ex, "suspected_minor", self.cites, detail={"rule": found.rule, "action": action},
                                once_per_day=True)
        return self.switch


@rule("profile", stage="gate", order=10)
def _profile(b: Build) -> ProfileGate:
    # first: the profile decides the age band, and so which clock and which refusals apply
    from middleware.detectors.minor import DEFAULT_MINOR

    return ProfileGate(b.policy, b.deps.profiles, b.alerter, DEFAULT_MINOR)
