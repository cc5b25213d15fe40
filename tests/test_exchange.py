"""The exchange (middleware/pipeline/exchange.py) and its typed request state (middleware/pipeline/request_state.py)."""

from __future__ import annotations

from middleware.pipeline.exchange import Exchange
from middleware.pipeline.request_state import RequestState
from middleware.testing import make_exchange


def test_decisions_notices_and_actions_are_recorded_once() -> None:
    ex = make_exchange()
    assert isinstance(ex, Exchange)
    ex.decide("rule", ["ANTH-DISCLOSE-1"], "shown", {"why": "first turn"})
    ex.notice("ai_disclosure", "我是AI")
    ex.act("x")
    ex.act("x")
    data = ex.compliance()
    assert data["actions"] == ["x"] and data["notices"][0]["kind"] == "ai_disclosure"
    assert ex.decisions == [{"rule": "rule", "cites": ["ANTH-DISCLOSE-1"], "outcome": "shown",
                             "detail": {"why": "first turn"}}]


def test_cleanups_run_once_in_reverse_and_a_failing_one_does_not_stop_the_rest() -> None:
    ex = make_exchange()
    ran: list[str] = []
    ex.cleanups.append(lambda: ran.append("first"))

    def broken() -> None:
        raise RuntimeError("cleanup bug")

    ex.cleanups.append(broken)
    ex.cleanups.append(lambda: ran.append("last"))
    ex.close()
    ex.close()
    assert ran == ["last", "first"]


def test_the_age_band_starts_as_the_apps_claim() -> None:
    assert make_exchange(age_band="minor").state.age_band == "minor"
    assert RequestState().answer_notices == [] and RequestState().answer_notices is not RequestState().answer_notices
