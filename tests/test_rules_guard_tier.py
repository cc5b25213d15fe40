"""The guard tier in the pipeline, with the engine's test doubles and a scripted guard: the guard runs
beside the provider and holds the reply until it answers; a crisis it finds replaces or augments the reply
as a local one would; reply sentences are judged before they are released; the stricter finding wins;
``on_error`` decides when the guard fails; with no guard nothing waits and nothing is wrapped."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from middleware.detectors.guard_formats import GuardAnswer
from middleware.http.errors import CandorError
from middleware.pipeline.guard_call import GuardResult
from middleware.pipeline.stages import Pipeline, Text
from middleware.policy.model import Policy
from middleware.rules.compile import RuleCompiler, RuleDeps
from middleware.rules.detection import Reading
from middleware.rules.guard_tier import GuardFeed, GuardRun, stricter
from middleware.testing import (
    ROUTE,
    MemoryState,
    RecordingAlerts,
    RecordingRecorder,
    Reply,
    ScriptedUpstream,
    make_exchange,
    policy,
)

# a language the local tiers do not read: only the guard (the HARM-SELF marker) sees the crisis
CRISIS = "HARM-SELF Ya regalé a mi gato y escribí las cartas, todo está listo."


class FakeCaller:
    """Answers like a guard: findings by marker, after ``delay``; ``fail`` gives an error result."""

    def __init__(self, delay: float = 0.0, fail: str | None = None, fail_reply: bool = False) -> None:
        self.delay, self.fail, self.fail_reply = delay, fail, fail_reply
        self.texts: list[str] = []

    async def judge(self, settings: Any, tasks: Any, text: str, user_text: str | None = None) -> GuardResult:
        self.texts.append(text)
        await asyncio.sleep(self.delay)
        if self.fail and (not self.fail_reply or user_text is not None):
            return GuardResult(None, self.delay * 1000, self.fail, "scripted failure")
        findings = {t: ("none", 1.0) for t in tasks}
        if "HARM-SELF" in text and "crisis" in findings:
            findings["crisis"] = ("explicit_intent", 0.99)
        if "HARM-VIOLENCE" in text and "prohibited_content" in findings:
            findings["prohibited_content"] = ("violence", 0.9)
        raw = tuple(f"{t}:{lab}" for t, (lab, _) in findings.items() if lab != "none")
        return GuardResult(GuardAnswer(findings, raw, "unsafe" if raw else "safe"), self.delay * 1000)


def guarded_policy(action: str = "replace", **guard: Any) -> Policy:
    base = policy("cn-anthropomorphic-2026").model_dump(mode="json")
    base["id"] = "guarded"
    base["crisis"]["action"] = action
    base["detection"]["guard"] = {"model": "guard", "format": "judge", "checks": ["crisis", "prohibited_content"],
                                  "timeout": "1s", **guard}
    base["output_validators"] = [{**v, "on_fail": "rewrite"} if v["name"] == "prohibited_content" else v
                                 for v in base["output_validators"]]
    return Policy.model_validate(base)


def pipeline(up: ScriptedUpstream, pol: Policy, caller: FakeCaller | None, alerts: RecordingAlerts) -> Pipeline:
    store = MemoryState()
    deps = RuleDeps(state=lambda: store, likeness=lambda: None, alerts=lambda: alerts,  # type: ignore[arg-type,return-value]
                    guard=(lambda: caller) if caller is not None else None)  # type: ignore[arg-type,return-value]
    rules = RuleCompiler(deps).compile(pol)
    return Pipeline(routes={ROUTE.name: ROUTE}, upstreams={"scripted": up}, rules_for=lambda p: rules,
                    recorder=RecordingRecorder(), new_event_id=lambda: "evt-1")


async def run(pipe: Pipeline, pol: Policy, text: str, stream: bool) -> tuple[Any, str]:
    ex = make_exchange(pol, text=text, stream=stream)
    rules = await pipe.admit(ex)
    source = pipe.source(ex)
    first = await pipe.first(ex, source)
    frames = [f async for f in pipe.frames(ex, rules, first, source)]
    return ex, "".join(f.text for f in frames if isinstance(f, Text))


@pytest.mark.parametrize("stream", [False, True])
async def test_a_crisis_only_the_guard_sees_replaces_the_reply_and_alerts(stream: bool) -> None:
    alerts = RecordingAlerts()
    pol = guarded_policy()
    pipe = pipeline(ScriptedUpstream(["MODEL-REPLY"]), pol, FakeCaller(), alerts)
    ex, text = await run(pipe, pol, CRISIS, stream)
    assert "MODEL-REPLY" not in text and ex.crisis["tier"] == "guard" and ex.crisis["level"] == "explicit_intent"
    assert "crisis_replaced" in ex.actions and alerts.sent
    detail = next(d["detail"] for d in ex.decisions if d["rule"] == "crisis")
    assert [t["tier"] for t in detail["tiers"]] == ["model", "guard"]   # local: the crisis model


async def test_augment_puts_the_crisis_reply_before_the_models_answer() -> None:
    pol = guarded_policy(action="augment")
    pipe = pipeline(ScriptedUpstream(["The model's own answer."]), pol, FakeCaller(), RecordingAlerts())
    ex, text = await run(pipe, pol, CRISIS, False)
    assert "crisis_augmented" in ex.actions
    reply = next(n["text"] for n in ex.notices if n["kind"] == "crisis_support")
    assert text.index(reply) < text.index("The model's own answer.")


async def test_the_guard_runs_beside_the_provider_so_the_slower_one_sets_the_pace() -> None:
    class Slow(ScriptedUpstream):
        async def chat(self, request: Any) -> Any:
            await asyncio.sleep(0.3)
            async for item in super().chat(request):
                yield item

    pol = guarded_policy(checks=["crisis"])   # request side only: reply checks wait for the reply's text
    caller = FakeCaller(delay=0.2)
    pipe = pipeline(Slow(["Warm-up.", "Hi there."]), pol, caller, RecordingAlerts())
    await run(pipe, pol, "hello", False)   # first use pays one-off costs
    started = time.perf_counter()
    await run(pipe, pol, "hello", False)
    # beside: the provider's 0.3 s; in series it would be 0.5 s (the margin is room for a busy machine)
    assert time.perf_counter() - started < 0.45 and caller.texts == ["hello", "hello"]


async def test_a_provider_failure_still_gets_the_guards_crisis_reply() -> None:
    pol = guarded_policy()
    pipe = pipeline(ScriptedUpstream([Reply("", fail=CandorError(502, "upstream_error", "down"))]), pol,
                    FakeCaller(), RecordingAlerts())
    ex, text = await run(pipe, pol, CRISIS, False)
    assert "crisis_replaced" in ex.actions and text


async def test_on_error_local_decides_locally_and_records_guard_unavailable() -> None:
    pol = guarded_policy(on_error="local")
    pipe = pipeline(ScriptedUpstream(["All fine."]), pol, FakeCaller(fail="timeout"), RecordingAlerts())
    ex, text = await run(pipe, pol, CRISIS, False)
    assert "All fine." in text and ex.crisis is None and "guard_unavailable" in ex.actions
    guard = next(d for d in ex.decisions if d["rule"] == "guard")
    assert guard["outcome"] == "error" and guard["detail"]["reason"] == "timeout"


async def test_on_error_refuse_is_503_guard_unavailable() -> None:
    pol = guarded_policy(on_error="refuse")
    pipe = pipeline(ScriptedUpstream(["All fine."]), pol, FakeCaller(fail="garbage"), RecordingAlerts())
    with pytest.raises(CandorError) as info:
        await run(pipe, pol, "hello", False)
    assert (info.value.status, info.value.code) == (503, "guard_unavailable")


@pytest.mark.parametrize("stream", [False, True])
async def test_a_reply_sentence_the_guard_flags_is_rewritten_before_release(stream: bool) -> None:
    pol = guarded_policy()
    caller = FakeCaller()
    reply = "Sure thing. HARM-VIOLENCE do it like this. Anything else?"
    pipe = pipeline(ScriptedUpstream([Reply(reply, chunks=9)]), pol, caller, RecordingAlerts())
    ex, text = await run(pipe, pol, "hello", stream)
    assert "HARM-VIOLENCE" not in text and "Sure thing." in text and "Anything else?" in text
    assert "prohibited_content_rewritten" in ex.actions
    assert "HARM-VIOLENCE do it like this." in caller.texts


async def test_without_a_guard_nothing_waits_and_the_source_is_not_wrapped() -> None:
    pol = policy("cn-anthropomorphic-2026")
    up = ScriptedUpstream(["Hi."])
    pipe = pipeline(up, pol, None, RecordingAlerts())
    ex = make_exchange(pol, text="hello")
    await pipe.admit(ex)
    assert ex.state.guard_run is None and ex.state.hold is None
    source = pipe.source(ex)
    assert type(source).__name__ == "async_generator" and source.ag_code.co_name == "chat"  # type: ignore[attr-defined]
    await source.aclose()  # type: ignore[attr-defined]


def test_the_stricter_reading_wins_and_a_tie_keeps_the_local_one() -> None:
    local = Reading("crisis", "distress", 1.0, "pattern", "rule")
    guard = Reading("crisis", "explicit_intent", 0.9, "guard")
    assert stricter("crisis", local, guard) is guard
    assert stricter("crisis", guard, local) is guard
    same = Reading("crisis", "distress", 0.5, "guard")
    assert stricter("crisis", local, same) is local


async def test_the_feed_judges_whole_sentences_or_the_whole_reply_at_the_end() -> None:
    ex = make_exchange(guarded_policy(), text="hi")
    caller = FakeCaller()
    run_ = GuardRun(caller, guarded_policy().detection.guard, ex)  # type: ignore[arg-type]
    feed = GuardFeed(run_)
    out = await feed.feed("One. Tw") + await feed.feed("o. Thr") + await feed.flush()
    assert out == "One. Two. Thr" and caller.texts == ["One.", "Two.", "Thr"]
    end_ex = make_exchange(guarded_policy(output="end"), text="hi")
    end_caller = FakeCaller()
    end_feed = GuardFeed(GuardRun(end_caller, guarded_policy(output="end").detection.guard, end_ex))  # type: ignore[arg-type]
    assert await end_feed.feed("One. Two.") == "" and await end_feed.flush() == "One. Two."
    assert end_caller.texts == ["One. Two."]


@pytest.mark.parametrize("stream", [False, True])
async def test_a_guard_failing_on_the_reply_refuses_under_on_error_refuse(stream: bool) -> None:
    pol = guarded_policy(on_error="refuse")
    caller = FakeCaller(fail="timeout", fail_reply=True)
    pipe = pipeline(ScriptedUpstream(["Nothing to see. Really."]), pol, caller, RecordingAlerts())
    with pytest.raises(CandorError) as info:
        await run(pipe, pol, "hello", stream)
    assert info.value.code == "guard_unavailable"


async def test_a_guard_failing_on_the_reply_leaves_it_to_the_local_tiers_under_on_error_local() -> None:
    pol = guarded_policy(on_error="local")
    caller = FakeCaller(fail="garbage", fail_reply=True)
    pipe = pipeline(ScriptedUpstream(["Nothing to see. Really."]), pol, caller, RecordingAlerts())
    ex, text = await run(pipe, pol, "hello", False)
    assert "Nothing to see. Really." in text and "guard_unavailable" in ex.actions
    failures = [d for d in ex.decisions if d["rule"] == "guard" and d["outcome"] == "error"]
    assert len(failures) == 1 and failures[0]["detail"]["side"] == "reply"


async def test_a_whole_reply_is_judged_in_one_batch_with_bounded_concurrency() -> None:
    class Counting(FakeCaller):
        def __init__(self) -> None:
            super().__init__(delay=0.01)
            self.now = self.peak = 0

        async def judge(self, settings: Any, tasks: Any, text: str, user_text: str | None = None) -> GuardResult:
            self.now += 1
            self.peak = max(self.peak, self.now)
            try:
                return await super().judge(settings, tasks, text, user_text)
            finally:
                self.now -= 1

    caller = Counting()
    pol = guarded_policy()
    feed = GuardFeed(GuardRun(caller, pol.detection.guard, make_exchange(pol, text="hi")))  # type: ignore[arg-type]
    text = " ".join(f"Sentence {i}." for i in range(20))
    assert await feed.feed(text, True) == text and await feed.flush() == ""
    assert len(caller.texts) == 20 and caller.peak == 8


async def test_a_sentence_cut_differently_takes_the_strictest_unit_it_overlaps() -> None:
    pol = guarded_policy()
    ex = make_exchange(pol, text="hi")
    run_ = GuardRun(FakeCaller(), pol.detection.guard, ex)  # type: ignore[arg-type]
    await run_.judge_units(["Fine.", " HARM-VIOLENCE bad."])
    found = run_.reading("prohibited_content", "Fine. HARM-VIOLENCE bad.")
    assert found is not None and found[0].label == "violence" and found[0].tier == "guard"
    assert run_.reading("prohibited_content", "Fine.")[0].label == "none"  # type: ignore[index]
    assert run_.reading("prohibited_content", "Something never judged.") is None
