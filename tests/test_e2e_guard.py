"""End-to-end (openai SDK, a running ``candor serve``, a guard stub speaking each format's real wire format):
the guard tier catches what the local tiers miss, on the user's turn and on the reply's sentences, streaming
and not; a guard that hangs, fails or answers garbage follows ``on_error``, never a pass; and a fast guard
adds no latency to a slower provider (issue 12)."""

from __future__ import annotations

import statistics
import time
from typing import Any

import openai
import pytest

from middleware.rules.detection import judge
from tests.guard_stub import GuardStub
from tests.guard_support import (
    CRISIS_TEXT,
    DECLINE,
    FORMAT_APPS,
    TIMEOUT,
    VIOLENT_REPLY,
    ask,
    client,
    decision,
    event_of,
    metric,
    wait_for,
)
from tests.proxy import ProxyProcess
from tests.stubs import Script, StubProvider
from tests.test_alerts_support import Receiver

# the guarded proxy and its stubs: a plugin, so that this module and tests/test_e2e_guardrails_validators.py share
# one proxy (a session fixture imported into two modules would be two fixtures, started once each)
pytest_plugins = ["tests.guard_support"]

STUB_FORMAT = {"mod": "mod", "llama": "llama", "qwen": "qwen", "judge": "judge"}


def test_the_local_tiers_miss_what_these_tests_give_the_guard() -> None:
    assert judge("crisis", CRISIS_TEXT).label == "none"
    for sentence in VIOLENT_REPLY.split(". "):
        assert not judge("prohibited_content", sentence).hit


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("app", FORMAT_APPS)
def test_a_crisis_the_local_tiers_miss_is_caught_by_the_guard(guarded: ProxyProcess, stub: StubProvider,
                                                              guard_stub: GuardStub, guard_receiver: Receiver,
                                                              app: str, stream: bool) -> None:
    user = f"crisis-{app}-{stream}"
    stub.push(Script(text="MODEL-REPLY that should never reach the user."))
    text, comp, _ = ask(guarded, app, CRISIS_TEXT, user, stream)
    crisis = comp["crisis"]
    assert crisis is not None, comp
    assert (crisis["level"], crisis["category"], crisis["tier"]) == ("explicit_intent", "self_harm", "guard")
    assert crisis["alerted"] is True and "crisis_replaced" in comp["actions"]
    assert "MODEL-REPLY" not in text and "400-161-9995" in text          # the policy's crisis reply instead
    assert guard_stub.texts(STUB_FORMAT[app]) == [CRISIS_TEXT]
    wait_for(lambda: any(user.encode() in r.body or b"crisis" in r.body for r in guard_receiver.received))
    event = event_of(guarded, user, comp["event_id"])
    assert event["kind"] == "crisis"
    detail = decision(event, "crisis")["detail"]
    assert detail["tier"] == "guard" and detail["label"] == "explicit_intent"
    tiers = {t["tier"]: t for t in detail["tiers"]}
    assert tiers["model"]["label"] == "none" and tiers["model"]["latency_ms"] is not None   # local: the crisis model
    assert tiers["guard"]["label"] == "explicit_intent" and tiers["guard"]["latency_ms"] >= 0
    assert decision(event, "guard")["outcome"] == "ok"


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("app", FORMAT_APPS)
def test_the_guards_finding_on_a_reply_sentence_acts_before_it_reaches_the_client(
        guarded: ProxyProcess, stub: StubProvider, guard_stub: GuardStub, app: str, stream: bool) -> None:
    user = f"reply-{app}-{stream}"
    stub.push(Script(text=VIOLENT_REPLY))
    text, comp, pieces = ask(guarded, app, "tell me a story", user, stream)
    assert not any("HARM-VIOLENCE" in p or "hurt him" in p for p in pieces), pieces
    assert "Sure thing." in text
    if app in ("mod", "llama"):                  # on_fail: block: the reply ends there with a safe text
        assert DECLINE in text and "Anything else?" not in text
        assert {"prohibited_content_blocked", "output_blocked"} <= set(comp["actions"])
        outcome = "blocked"
    else:                                        # on_fail: rewrite: the sentence is removed
        assert "Anything else?" in text and DECLINE not in text
        assert "prohibited_content_rewritten" in comp["actions"]
        outcome = "rewritten"
    detail = decision(event_of(guarded, user, comp["event_id"]), "prohibited_content")
    assert detail["outcome"] == outcome
    assert detail["detail"]["tier"] == "guard" and detail["detail"]["label"] == "violence"
    tiers = {t["tier"]: t for t in detail["detail"]["tiers"]}
    assert tiers["pattern"]["label"] == "none" and tiers["pattern"]["latency_ms"] is not None
    assert tiers["guard"]["label"] == "violence" and tiers["guard"]["latency_ms"] >= 0
    assert "HARM-VIOLENCE here is how to hurt him." in guard_stub.texts(STUB_FORMAT[app])


@pytest.mark.parametrize("stream", [False, True])
def test_a_guard_judging_the_whole_reply_at_the_end_blocks_it(guarded: ProxyProcess, stub: StubProvider,
                                                              guard_stub: GuardStub, stream: bool) -> None:
    stub.push(Script(text=VIOLENT_REPLY))
    text, comp, pieces = ask(guarded, "end", "tell me a story", f"end-{stream}", stream)
    assert not any("HARM-VIOLENCE" in p for p in pieces) and DECLINE in text
    assert "prohibited_content_blocked" in comp["actions"]
    assert guard_stub.texts("qwen") == [VIOLENT_REPLY]     # one call, for the whole reply


@pytest.mark.parametrize("app", ["llama", "judge"])
def test_a_privacy_probe_only_the_guard_sees_is_rewritten(guarded: ProxyProcess, stub: StubProvider, app: str) -> None:
    stub.push(Script(text="Nice to meet you. HARM-PRIVACY tell me the name of your street. Have a good day."))
    text, comp, _ = ask(guarded, app, "hello", f"privacy-{app}", True)
    assert "HARM-PRIVACY" not in text and "Have a good day." in text
    assert "privacy_probing_rewritten" in comp["actions"]


@pytest.mark.parametrize("stream", [False, True])
def test_a_guard_hanging_past_its_timeout_lets_the_local_tiers_decide_in_time(
        guarded: ProxyProcess, stub: StubProvider, guard_stub: GuardStub, stream: bool) -> None:
    guard_stub.mode["llama"] = "hang"
    best = 99.0
    c = client(guarded, "local")   # built before the clock starts (an SDK client loads TLS settings)
    for i in range(3):   # the best of three: a busy shared machine may stall any one request
        stub.push(Script(text="All good here."))
        started = time.perf_counter()
        text, comp, _ = ask(guarded, "local", CRISIS_TEXT, f"hang-local-{stream}-{i}", stream, c)
        best = min(best, time.perf_counter() - started)
        assert "All good here." in text and "guard_unavailable" in comp["actions"] and comp["crisis"] is None
    assert best <= TIMEOUT + 0.25, best   # the timeout, not the guard's 30 s hang (room for a busy machine)
    assert metric(guarded, "candor_guard_calls_total", model="guard-llama", outcome="timeout") >= 3
    assert metric(guarded, "candor_guard_unavailable_total", on_error="local") >= 3


@pytest.mark.parametrize("stream", [False, True])
def test_a_guard_hanging_past_its_timeout_refuses_with_503_in_time(guarded: ProxyProcess, stub: StubProvider,
                                                                   guard_stub: GuardStub, stream: bool) -> None:
    guard_stub.mode["llama"] = "hang"
    best = 99.0
    c = client(guarded, "refuse")
    for i in range(3):
        stub.push(Script(text="should not be delivered"))
        started = time.perf_counter()
        with pytest.raises(openai.APIStatusError) as info:
            ask(guarded, "refuse", "hello there", f"hang-refuse-{stream}-{i}", stream, c)
        best = min(best, time.perf_counter() - started)
        assert info.value.status_code == 503
        body: Any = info.value.body
        assert body["code"] == "guard_unavailable" and "guard-llama" in body["message"]
    assert best <= TIMEOUT + 0.25, best   # the timeout, not the guard's 30 s hang (room for a busy machine)
    assert metric(guarded, "candor_guard_unavailable_total", on_error="refuse") >= 3


@pytest.mark.parametrize("app", FORMAT_APPS)
def test_a_guard_answering_garbage_is_an_error_never_a_pass(guarded: ProxyProcess, stub: StubProvider,
                                                            guard_stub: GuardStub, app: str) -> None:
    guard_stub.mode[STUB_FORMAT[app]] = "garbage"
    user = f"garbage-{app}"
    stub.push(Script(text="Fine."))
    _, comp, _ = ask(guarded, app, CRISIS_TEXT, user, False)
    assert "guard_unavailable" in comp["actions"]
    event = event_of(guarded, user, comp["event_id"])
    guard = decision(event, "guard")
    assert guard["outcome"] == "error" and guard["detail"]["reason"] == "garbage"
    assert metric(guarded, "candor_guard_calls_total", outcome="garbage") >= 1


@pytest.mark.parametrize("mode", ["garbage", "huge", "badjson", "html", "error"])
def test_a_hostile_guard_answer_refuses_under_on_error_refuse(guarded: ProxyProcess, stub: StubProvider,
                                                              guard_stub: GuardStub, mode: str) -> None:
    guard_stub.mode["llama"] = mode
    stub.push(Script(text="should not be delivered"))
    with pytest.raises(openai.APIStatusError) as info:
        ask(guarded, "refuse", "hello there", f"hostile-{mode}", False)
    assert info.value.status_code == 503
    body: Any = info.value.body
    assert body["code"] == "guard_unavailable"
    # and the proxy is unharmed: the next request with a sane guard is served
    guard_stub.mode["llama"] = "ok"
    stub.push(Script(text="Back to normal."))
    text, _, _ = ask(guarded, "refuse", "hello there", f"hostile-{mode}", False)
    assert "Back to normal." in text


def test_a_fast_guard_adds_no_latency_to_a_slower_provider(guarded: ProxyProcess, stub: StubProvider,
                                                           guard_stub: GuardStub) -> None:
    guard_stub.delay["llama"] = 0.05   # the guard answers in 50 ms, the provider in 200 ms: they run together
    timings: dict[str, list[float]] = {"plain": [], "local": []}
    clients = {app: client(guarded, app) for app in timings}
    for i in range(-1, 9):   # one warm-up round, then nine measured, alternating
        for app in ("plain", "local"):
            stub.push(Script(text="A calm answer.", first_delay=0.2))
            c = clients[app]
            started = time.perf_counter()
            reply = c.chat.completions.create(model="companion", messages=[{"role": "user", "content": "hello"}],
                                              extra_headers={"X-Candor-User": f"latency-{app}-{i}"})
            if i >= 0:
                timings[app].append(time.perf_counter() - started)
            assert "A calm answer." in (reply.choices[0].message.content or "")
    assert len(guard_stub.texts("llama")) == 10
    assert min(timings["local"]) >= 0.2   # the provider's 200 ms, not the guard's 50 ms, sets the pace
    # the best of nine of each (a shared machine adds noise, never removes latency); and the medians agree.
    # A guard waited for in series would add its whole 50 ms to both; the bounds leave room for the scheduling
    # noise of a busy machine (other test processes on the same cores) and stay well below that
    added = min(timings["local"]) - min(timings["plain"])
    assert added <= 0.02, (added, timings)
    assert statistics.median(timings["local"]) - statistics.median(timings["plain"]) <= 0.035, timings
