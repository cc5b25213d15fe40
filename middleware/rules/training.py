"""No training without separate consent (ANTH-DATA-3): for a user whose profile does not record
``training_consent``, the request asks the provider not to store or train on it. OpenAI's chat API takes
``store: false`` (no stored completion for evals or distillation); other OpenAI-compatible providers ignore
an unknown ``store`` or honour the same flag. Providers reached through LiteLLM's own translations have no
such flag: the decision then says ``no_store_flag`` instead of claiming a request that was not made."""

from __future__ import annotations

from middleware.pipeline.exchange import Exchange
from middleware.policy.model import DataRules
from middleware.rules.registry import Build, rule


class TrainingConsent:
    name = "training_consent"

    def __init__(self, rules: DataRules) -> None:
        self.cites = list(rules.cites)

    def shape(self, ex: Exchange) -> None:
        profile = ex.state.profile
        if profile is not None and profile.training_consent:
            ex.decide("training_consent", self.cites, "consented")
            return
        reason = "no_profile" if profile is None else "no_consent"
        if ex.route.adapter == "litellm":
            # LiteLLM's other providers have no such flag (it would be dropped): say so, claim nothing
            ex.decide("training_consent", self.cites, "no_store_flag", {"reason": reason, "adapter": "litellm"})
            return
        asked = ex.body.get("store")
        ex.body = {**ex.body, "store": False}
        ex.decide("training_consent", self.cites, "no_store", {"reason": reason, "app_asked_store": asked})


@rule("training_consent", stage="shaper", order=30)
def _training(b: Build) -> TrainingConsent | None:
    d = b.policy.data
    return TrainingConsent(d) if d is not None and d.training_consent == "required" else None
