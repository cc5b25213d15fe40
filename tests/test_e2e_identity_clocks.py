"""End-to-end (openai SDK, running proxy, virtual clock), issue 13 items 1, 2, 4, 12, 13: no silent loss of
clocks for anonymous requests, minors' daily use counting spaced-out use, refusals never spending the
disclosure, suspected minors per pack, and the US packs' clocks. Streaming and not."""

from __future__ import annotations

import itertools
from typing import Any

import openai
import pytest

from tests.gaps_support import chat, client, decisions, events, gaps, kinds, say, set_profile
from tests.stubs import StubProvider

__all__ = ["gaps"]
M = 60.0


@pytest.mark.parametrize("stream", [False, True])
def test_cn_refuses_a_request_without_a_user_and_says_how_to_name_one(gaps: Any, stub: StubProvider,
                                                                       stream: bool) -> None:
    server, _ = gaps
    with pytest.raises(openai.BadRequestError) as refused:
        chat(client(server, "cn"), say("你好"), stream)
    err = refused.value
    assert err.code == "user_required" and err.status_code == 400
    assert "`user`" in err.message and "X-Candor-User" in err.message
    assert err.body["param"] == "user"   # type: ignore[index]
    assert stub.requests == []
    refusal = [e for e in events(server, "refusal") if e["status"] == 400]
    assert any(d["rule"] == "identity" and d["outcome"] == "refused" for d in refusal[-1]["decisions"])
    # the same app with a user is served
    text, _, _ = chat(client(server, "cn"), say("你好"), stream, user=f"named-{stream}")
    assert text is not None and "Hello from the stub." in text


@pytest.mark.parametrize("stream", [False, True])
def test_allow_serves_anonymous_requests_with_the_clocks_marked_off(gaps: Any, stream: bool) -> None:
    server, _ = gaps
    text, comp, _ = chat(client(server, "allow"), say("hello"), stream)
    assert text is not None and "Hello from the stub." in text
    assert "clocks_off" in comp["actions"]
    (identity,) = [d for d in decisions(server, comp["event_id"]) if d["rule"] == "identity"]
    assert identity["outcome"] == "clocks_off" and identity["detail"] == {"clocks_off": "no_user"}
    _, named, _ = chat(client(server, "allow"), say("hello"), stream, user=f"u-{stream}")
    assert "clocks_off" not in named["actions"]


@pytest.mark.parametrize("stream", [False, True])
def test_spaced_out_use_reaches_a_minors_daily_limit(gaps: Any, stream: bool) -> None:
    server, clock = gaps
    teen = f"spaced-{stream}"
    set_profile(server, teen, age_band="minor")
    cn = client(server, "cn")
    chat(cn, say("我在做作业"), stream, user=teen)
    clock.advance(31 * M)            # more than the idle reset: no continuous use, but use all the same
    chat(cn, say("第二题"), stream, user=teen)
    clock.advance(31 * M)            # 60 minutes of use today
    with pytest.raises(openai.RateLimitError) as limited:
        chat(cn, say("第三题"), stream, user=teen)
    assert limited.value.code == "usage_limit_reached"


@pytest.mark.parametrize("stream", [False, True])
def test_a_refused_first_request_leaves_the_disclosure_for_the_first_reply(gaps: Any, stream: bool) -> None:
    server, _ = gaps
    cn = client(server, "cn")
    child = f"child-{stream}"
    set_profile(server, child, age_band="under14", guardian_consent=False)
    with pytest.raises(openai.PermissionDeniedError) as refused:
        chat(cn, say("你好呀"), stream, user=child)
    assert refused.value.code == "guardian_consent_required"
    set_profile(server, child, age_band="under14", guardian_consent=True)
    text, comp, _ = chat(cn, say("你好呀"), stream, user=child)
    assert "ai_disclosure" in kinds(comp)
    assert text is not None and text.startswith("温馨提示：你正在与人工智能交流")
    _, again, _ = chat(cn, say("再聊聊"), stream, user=child)
    assert "ai_disclosure" not in kinds(again)          # given once, not on every turn


@pytest.mark.parametrize("stream", [False, True])
def test_suspected_minor_is_signalled_in_cn_and_switches_modes_in_draft_strict(gaps: Any, stream: bool) -> None:
    server, _ = gaps
    user = f"kid-{stream}"
    _, comp, _ = chat(client(server, "cn"), say("我今年13岁，在上初一"), stream, user=user)
    assert "suspected_minor" in comp["actions"]
    (suspected,) = [d for d in decisions(server, comp["event_id"]) if d["rule"] == "suspected_minor"]
    assert suspected["outcome"] == "flagged"
    _, later, _ = chat(client(server, "cn"), say("继续聊"), stream, user=user)
    assert "suspected_minor" not in later["actions"]    # no switch: the next request is an adult's as before
    with pytest.raises(openai.PermissionDeniedError) as refused:   # draft-strict: minors mode, consent needed
        chat(client(server, "strict"), say("我今年13岁，在上初一"), stream, user=f"strict-{user}")
    assert refused.value.code == "guardian_consent_required"


def test_draft_strict_records_whether_an_older_users_emergency_contact_is_on_file(gaps: Any) -> None:
    server, _ = gaps
    set_profile(server, "grandpa", age_band="elderly")
    _, comp, _ = chat(client(server, "strict"), say("今天天气不错"), False, user="grandpa")
    (duty,) = [d for d in decisions(server, comp["event_id"]) if d["outcome"] == "emergency_contact"]
    assert duty["detail"] == {"on_file": False} and "ANTH-ELDER-2" in duty["cites"]


@pytest.mark.parametrize("stream", [False, True])
def test_ny_notice_once_per_calendar_day_and_never_3_hours_apart(gaps: Any, stream: bool) -> None:
    server, clock = gaps
    ny = client(server, "ny")
    user = f"nyc-{stream}"
    seen: list[float] = []
    for _ in range(14):                                   # one continuing interaction, a message every 20 min
        _, comp, _ = chat(ny, say("still chatting"), stream, user=user)
        if "ai_disclosure" in kinds(comp):
            seen.append(clock.now)
        clock.advance(20 * M)
    assert len(seen) >= 2 and max(b - a for a, b in itertools.pairwise(seen)) <= 3 * 3600


@pytest.mark.parametrize("stream", [False, True])
def test_ca_minor_break_reminder_before_3_hours_and_the_suitability_notice(gaps: Any, stub: StubProvider,
                                                                          stream: bool) -> None:
    server, clock = gaps
    ca = client(server, "ca")
    user = f"teen-ca-{stream}"
    text, _, _ = chat(ca, say("hi"), stream, user=user, headers={"X-Candor-Age-Band": "minor"})
    assert text is not None and "may not be suitable for some minors" in text
    system = stub.requests[-1]["body"]["messages"][0]
    assert system["role"] == "system" and "sexually explicit" in system["content"]   # §22602(c), known minors
    reminders: list[float] = [clock.now]
    for _ in range(10):
        clock.advance(25 * M)
        _, comp, _ = chat(ca, say("more"), stream, user=user, headers={"X-Candor-Age-Band": "minor"})
        if "reality_reminder" in kinds(comp):
            reminders.append(clock.now)
    assert len(reminders) >= 2 and max(b - a for a, b in itertools.pairwise(reminders)) <= 3 * 3600
