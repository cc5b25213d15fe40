"""Smaller rule helpers: locale choice (rules/locale.py), the normalised user text (rules/text.py),
audit records of registry changes (rules/records.py), alerts (rules/alerting.py)."""

from __future__ import annotations

from middleware.rules.alerting import Alerter
from middleware.rules.locale import request_locale
from middleware.rules.text import user_norm
from middleware.testing import RecordingAlerts, make_exchange


def test_the_locale_follows_the_header_then_the_script() -> None:
    assert request_locale("en-GB,en;q=0.9", "你好") == "en-GB"
    assert request_locale(None, "你好") == "zh-CN"
    assert request_locale(None, "hello") == "en"
    assert request_locale("*", "123") is None


def test_the_user_text_is_normalised_once_per_request() -> None:
    ex = make_exchange(text="ＨＥＬＬＯ")
    first = user_norm(ex)
    assert first is user_norm(ex) and "hello" in first.text


async def test_an_alert_names_the_exchange_and_is_recorded_as_a_decision() -> None:
    sink = RecordingAlerts()
    alerter = Alerter(lambda: sink, pseudonym=lambda u: "ref-" + u)
    ex = make_exchange(user="u-9")
    assert await alerter.send(ex, "crisis", ["ANTH-CRISIS-2"], level="explicit_intent")
    assert sink.sent[0].user_ref == "ref-u-9" and sink.sent[0].event_id == ex.event_id
    assert ex.decisions[-1]["outcome"] == "enqueued"
    assert not await Alerter().send(ex, "crisis", [])
