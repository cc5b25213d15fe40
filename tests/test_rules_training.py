"""No training without separate consent (middleware/rules/training.py, ANTH-DATA-3): without a consenting
profile the request carries ``store: false``; through LiteLLM (no such flag) the decision says so."""

from __future__ import annotations

import dataclasses

from middleware.profiles.models import UserProfile
from middleware.rules.training import TrainingConsent
from middleware.testing import ROUTE, compile_rules, make_exchange, policy


def _rule() -> TrainingConsent:
    data = policy("cn-anthropomorphic-2026").data
    assert data is not None and data.training_consent == "required"
    return TrainingConsent(data)


def test_no_profile_asks_the_provider_not_to_store() -> None:
    ex = make_exchange(body={"model": "m", "messages": [], "store": True})
    _rule().shape(ex)
    assert ex.body["store"] is False
    d = ex.decisions[-1]
    assert d["rule"] == "training_consent" and d["outcome"] == "no_store"
    assert d["detail"] == {"reason": "no_profile", "app_asked_store": True}


def test_a_profile_without_consent_is_no_consent_and_one_with_consent_is_left_alone() -> None:
    ex = make_exchange()
    ex.state.profile = UserProfile(training_consent=False)
    _rule().shape(ex)
    assert ex.body["store"] is False and ex.decisions[-1]["detail"]["reason"] == "no_consent"
    ex = make_exchange()
    ex.state.profile = UserProfile(training_consent=True)
    _rule().shape(ex)
    assert "store" not in ex.body and ex.decisions[-1]["outcome"] == "consented"


def test_litellm_routes_claim_no_flag_they_cannot_send() -> None:
    ex = make_exchange()
    ex.route = dataclasses.replace(ROUTE, adapter="litellm")
    _rule().shape(ex)
    assert "store" not in ex.body
    assert ex.decisions[-1]["outcome"] == "no_store_flag" and ex.decisions[-1]["detail"]["adapter"] == "litellm"


def test_only_policies_requiring_consent_compile_the_rule() -> None:
    assert any(isinstance(s, TrainingConsent) for s in compile_rules("cn-anthropomorphic-2026").shapers)
    assert not any(isinstance(s, TrainingConsent) for s in compile_rules("eu-ai-act-art50").shapers)
