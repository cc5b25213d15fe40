"""End-to-end (openai SDK, running proxy, virtual clock): minors, older users and user profiles
(issue 7): refusals, reality reminders, the daily limit with its reset time, suspected minors and the
appeal, the elderly risk warning, per-user persona blocks, the guardians' usage summary, and profile
changes in the audit log. Streaming and not."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from tests.stubs import StubProvider
from tests.vulnerable_support import (
    STRICT_KEY,
    add_persona,
    admin,
    ask,
    client,
    events,
    kinds,
    model_calls,
    proxy,
    set_profile,
)

__all__ = ["proxy"]


@pytest.mark.parametrize("stream", [False, True])
def test_minors_are_refused_intimate_personas_and_under14s_need_guardian_consent(proxy: Any, stub: StubProvider,
                                                                                   stream: bool) -> None:
    server, _ = proxy
    cn = client(server)
    add_persona(server, f"xiaomei-{stream}", "partner")
    add_persona(server, f"tutor-{stream}", "assistant")
    with pytest.raises(openai.PermissionDeniedError) as refused:
        ask(cn, "亲爱的，在吗？", f"hua-{stream}", stream, **{"X-Candor-Age-Band": "minor",
                                                        "X-Candor-Persona": f"xiaomei-{stream}"})
    assert refused.value.code == "persona_not_allowed_for_minor"
    # the registered profile (under14, no consent) wins over the app's "adult" header
    child = f"ivy-{stream}"
    set_profile(server, child, age_band="under14", guardian_consent=False)
    with pytest.raises(openai.PermissionDeniedError) as refused:
        ask(cn, "你好呀", child, stream, **{"X-Candor-Age-Band": "adult", "X-Candor-Persona": f"tutor-{stream}"})
    assert refused.value.code == "guardian_consent_required" and "guardian" in refused.value.message
    assert model_calls(stub) == 0
    set_profile(server, child, age_band="under14", guardian_consent=True)
    text, comp, _ = ask(cn, "你好呀", child, stream, **{"X-Candor-Persona": f"tutor-{stream}"})
    assert "Hello from the stub." in text
    # the resolved band is what the audit event records
    (event,) = [e for e in events(server, "exchange", child) if e["event_id"] == comp["event_id"]]
    band = next(d for d in event["decisions"] if d["rule"] == "age_band")
    assert band["detail"] == {"age_band": "under14", "source": "profile"}


@pytest.mark.parametrize("stream", [False, True])
def test_minors_get_reality_reminders_and_a_daily_limit_adults_never_do(proxy: Any, stream: bool) -> None:
    server, clock = proxy
    cn = client(server)
    teen, adult = f"jun-{stream}", f"ann-{stream}"
    set_profile(server, teen, age_band="minor")
    seen: dict[str, list[list[str]]] = {teen: [], adult: []}
    for step in (0, 20 * 60, 11 * 60, 20 * 60):     # 0, 20, 31, 51 minutes of continuous use
        clock.advance(step)
        for user in (teen, adult):
            _, comp, _ = ask(cn, "我在做数学题", user, stream, **{"X-Candor-Age-Band": "adult"})
            seen[user].append(kinds(comp))
    assert ["reality_reminder" in k for k in seen[teen]] == [False, False, True, False]
    assert not any("reality_reminder" in k for k in seen[adult])
    clock.advance(11 * 60)                            # 62 minutes today: past the 1 h limit
    with pytest.raises(openai.RateLimitError) as limited:
        ask(cn, "再来一道", teen, stream)
    assert limited.value.code == "usage_limit_reached"
    assert "resets at" in limited.value.message and "00:00" in limited.value.message
    retry_after = int(limited.value.response.headers["retry-after"])
    assert 0 < retry_after <= 86400
    text, _, _ = ask(cn, "再来一道", adult, stream, **{"X-Candor-Age-Band": "adult"})
    assert "Hello from the stub." in text            # no limit for adults
    usage = admin(server, "GET", f"/admin/users/{teen}/usage").json()
    assert usage["daily_minutes"] == 62 and usage["sessions_today"] == 1 and usage["minor"] is True
    (app,) = usage["apps"]
    assert app["app_id"] == "cn" and app["daily_limit_minutes"] == 60 and app["limit_reached"] is True
    assert app["resets_at"] and app["last_activity"]


@pytest.mark.parametrize("stream", [False, True])
def test_a_suspected_minor_raises_an_alert_switches_to_minors_mode_and_can_appeal(proxy: Any, stream: bool) -> None:
    server, _ = proxy
    # the switch to minors mode is the draft's (draft-strict); the final text signals only (test_e2e_identity_clocks)
    cn, user = client(server, STRICT_KEY), f"kid-{stream}"
    add_persona(server, f"bf-{stream}", "partner")
    set_profile(server, user, age_band="adult", guardian_contact="dad 139", guardian_consent=True)
    with pytest.raises(openai.PermissionDeniedError) as refused:   # this very message switches minors mode on
        ask(cn, "我今年13岁，上初一", user, stream, **{"X-Candor-Persona": f"bf-{stream}"})
    assert refused.value.code == "persona_not_allowed_for_minor"
    profile = admin(server, "GET", f"/admin/users/{user}").json()
    assert profile["minors_mode"] is True and profile["minors_mode_active"] is True
    alerts = [a for a in admin(server, "GET", "/admin/alerts?status=pending").json()["data"]
              if a["kind"] == "suspected_minor" and a["guardian_contact"] == "dad 139"]
    assert len(alerts) == 1
    ask(cn, "我今年13岁", user, stream)               # said again: no second alert the same day
    again = [a for a in admin(server, "GET", "/admin/alerts?status=pending").json()["data"]
             if a["kind"] == "suspected_minor" and a["guardian_contact"] == "dad 139"]
    assert len(again) == 1
    changes = events(server, "profile_change", user)
    assert any(d["outcome"] == "minors_mode" and d["detail"]["actor"] == "pipeline"
               for e in changes for d in e["decisions"])
    # the appeal: the operator overrides minors mode; the persona is allowed again
    assert admin(server, "PATCH", f"/admin/users/{user}", {"minors_mode_override": True}).status_code == 200
    text, _, _ = ask(cn, "我今年13岁", user, stream, **{"X-Candor-Persona": f"bf-{stream}"})
    assert "Hello from the stub." in text


@pytest.mark.parametrize("stream", [False, True])
def test_older_users_get_a_risk_warning_and_no_relative_personas_in_draft_strict(proxy: Any, stub: StubProvider,
                                                                                 stream: bool) -> None:
    server, _ = proxy
    cn, elder = client(server), f"wang-{stream}"
    set_profile(server, elder, age_band="elderly")
    text, comp, _ = ask(cn, "有人打电话说我中奖了，要我先交手续费", elder, stream)
    assert "risk_warning" in kinds(comp) and "谨防诈骗" in text
    _, comp, _ = ask(cn, "今天天气真好", elder, stream)
    assert "risk_warning" not in kinds(comp)
    _, comp, _ = ask(cn, "我收到一个验证码", f"young-{stream}", stream, **{"X-Candor-Age-Band": "adult"})
    assert "risk_warning" not in kinds(comp)
    add_persona(server, f"son-{stream}", "child")
    calls = model_calls(stub)
    with pytest.raises(openai.PermissionDeniedError) as refused:
        ask(client(server, STRICT_KEY), "儿子，你什么时候回家？", elder, stream,
            **{"X-Candor-Persona": f"son-{stream}"})
    assert refused.value.code == "persona_not_allowed_for_elderly" and model_calls(stub) == calls
    text, _, _ = ask(cn, "儿子，你什么时候回家？", elder, stream, **{"X-Candor-Persona": f"son-{stream}"})
    assert "Hello from the stub." in text            # the final text does not ban them


@pytest.mark.parametrize("stream", [False, True])
def test_a_persona_blocked_in_the_profile_is_refused(proxy: Any, stream: bool) -> None:
    server, _ = proxy
    user = f"lily-{stream}"
    add_persona(server, f"idol-{stream}", "friend")
    set_profile(server, user, age_band="minor", blocked_personas=[f"idol-{stream}"])
    with pytest.raises(openai.PermissionDeniedError) as refused:
        ask(client(server), "你好", user, stream, **{"X-Candor-Persona": f"idol-{stream}"})
    assert refused.value.code == "user_blocked"
    changes = events(server, "profile_change", user)
    assert changes and changes[-1]["decisions"][0]["detail"]["blocked_personas"] == [f"idol-{stream}"]
