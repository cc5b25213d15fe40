"""End-to-end: digital humans run only with consent (issue 6). Two real ``candor serve`` processes share
one database; the openai SDK chats as a persona while operators change consents through the admin API."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import openai
import pytest

from tests import web
from tests.conftest import APP_KEY, lean_config
from tests.proxy import ProxyProcess, started
from tests.stubs import Script, StubProvider

ADMIN = "admin-key-e2e"
AUDITOR = "auditor-key-e2e"
EVIDENCE = hashlib.sha256(b"signed consent form").hexdigest()


@pytest.fixture(scope="module")
def pair(stub: StubProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ProxyProcess, ProxyProcess]]:
    tmp = tmp_path_factory.mktemp("persona")
    (tmp / "policies").mkdir()
    env = {"STUB_KEY": "sk-stub", "E2E_APP_KEY": APP_KEY, "CANDOR_ADMIN_KEY": ADMIN, "CANDOR_AUDITOR_KEY": AUDITOR}
    cfg = lean_config(stub.url, tmp)  # type: ignore[attr-defined]
    a_dir, b_dir = tmp / "a", tmp / "b"
    a_dir.mkdir()
    b_dir.mkdir()
    with started(ProxyProcess(a_dir, cfg, env), ProxyProcess(b_dir, cfg, env)) as (a, b):
        yield a, b


def admin(proxy: ProxyProcess, method: str, path: str, key: str = ADMIN, **kw: Any) -> httpx.Response:
    return web.request(method, proxy.url + path, headers={"authorization": f"Bearer {key}"}, timeout=10, **kw)


def chat(proxy: ProxyProcess, persona: str, stream: bool = False, **kw: Any) -> Any:
    client = web.OpenAI(base_url=proxy.url + "/v1", api_key=APP_KEY, max_retries=0, timeout=20)
    return client.chat.completions.create(
        model="companion", messages=[{"role": "user", "content": "奶奶，我想你了"}], stream=stream,
        extra_headers={"X-Candor-Persona": persona, "X-Candor-User": "grandchild"}, **kw)


def persona(proxy: ProxyProcess, pid: str, subject: str, kinds: list[str], deceased: bool = False,
            birth: str | None = None) -> None:
    likeness: dict[str, Any] = {"subject_id": subject, "kinds": kinds, "deceased": deceased}
    if birth:
        likeness["subject_birth_date"] = birth
    resp = admin(proxy, "POST", "/admin/personas",
                 json={"id": pid, "display_name": pid, "relationship": "relative", "likeness": likeness})
    assert resp.status_code in (200, 201), resp.text


def consent(proxy: ProxyProcess, subject: str, by: str, scopes: list[str], **kw: Any) -> httpx.Response:
    return admin(proxy, "POST", "/admin/consents", json={
        "subject_id": subject, "granted_by": by, "scopes": scopes, "purpose": "memorial companion",
        "evidence_sha256": EVIDENCE, **kw})


def refused(proxy: ProxyProcess, pid: str) -> openai.APIStatusError | None:
    try:
        chat(proxy, pid)
    except openai.APIStatusError as exc:
        return exc
    return None


def test_likeness_needs_consent_and_revocation_stops_it_on_every_replica(
        pair: tuple[ProxyProcess, ProxyProcess], stub: StubProvider) -> None:
    a, b = pair
    persona(a, "grandma-li", "li-hua", ["face", "voice", "name"], deceased=True)
    err = refused(a, "grandma-li")
    assert err is not None and err.status_code == 403 and err.code == "likeness_consent_required"
    assert "grandma-li" in str(err)

    wrong = consent(a, "li-hua", "subject", ["face", "voice", "name"])   # a deceased person cannot consent
    assert wrong.status_code == 400 and "next_of_kin" in wrong.text

    partial = consent(a, "li-hua", "next_of_kin", ["face", "voice"])
    assert partial.status_code in (200, 201), partial.text
    err = refused(a, "grandma-li")
    assert err is not None and "name" in str(err)                         # the missing scope is named

    full = consent(a, "li-hua", "next_of_kin", ["face", "voice", "name"], replaces=partial.json()["id"])
    assert full.status_code in (200, 201), full.text
    for proxy in (a, b):
        deadline = time.monotonic() + 30   # the other replica's poll; generous for a busy machine
        while refused(proxy, "grandma-li") is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        reply = chat(proxy, "grandma-li")
        notices = reply.model_extra["compliance"]["notices"]
        assert any(n["kind"] == "digital_human" and "数字人" in n["text"] for n in notices)
        assert "数字人" in (reply.choices[0].message.content or "")
        chunks = list(chat(proxy, "grandma-li", stream=True))
        assert any(n["kind"] == "digital_human" for n in chunks[0].model_extra["compliance"]["notices"])

    revoked = admin(a, "POST", f"/admin/consents/{full.json()['id']}/revoke", json={"reason": "family withdrew"})
    revoked_at = time.monotonic()
    assert revoked.status_code == 200, revoked.text
    assert refused(a, "grandma-li") is not None                              # at once on the replica that revoked
    while True:                                                              # and within 1 s on the other one:
        sent = time.monotonic()
        if refused(b, "grandma-li") is not None:
            break
        # no request sent 1 s after the revocation is served (timed from when it is sent, so a slow reply on a
        # busy machine, which only moves the check later, cannot fail the test)
        assert sent - revoked_at < 1.0, "revocation not seen by the second proxy within 1 s"
        time.sleep(0.05)

    history = admin(a, "GET", "/admin/consents?subject_id=li-hua&history=1", key=AUDITOR)
    assert history.status_code == 200
    assert len(history.json()["data"]) >= 2                                   # auditors see the whole history


def test_consent_granted_by_the_wrong_party_is_rejected(pair: tuple[ProxyProcess, ProxyProcess]) -> None:
    a, _ = pair
    persona(a, "coach-wang", "wang-wei", ["voice"], birth="1980-05-01")
    resp = consent(a, "wang-wei", "guardian", ["voice"])                    # an adult consents for themself
    assert resp.status_code == 400 and "guardian" in resp.text
    ten_years_ago = (datetime.now(UTC) - timedelta(days=365 * 10)).date().isoformat()
    persona(a, "kid-star", "xiao-ming", ["face"], birth=ten_years_ago)
    assert consent(a, "xiao-ming", "subject", ["face"]).status_code == 400  # under 14: the guardian consents
    assert consent(a, "xiao-ming", "guardian", ["face"]).status_code in (200, 201)


def test_consent_expiry_is_honoured_to_the_second(pair: tuple[ProxyProcess, ProxyProcess]) -> None:
    a, _ = pair
    persona(a, "singer-zhao", "zhao-lei", ["voice"], birth="1990-01-01")
    until = datetime.now(UTC) + timedelta(seconds=4)   # room for the two requests on a busy machine
    assert consent(a, "zhao-lei", "subject", ["voice"], valid_until=until.isoformat()).status_code in (200, 201)
    assert refused(a, "singer-zhao") is None
    time.sleep(max(0.0, (until - datetime.now(UTC)).total_seconds()) + 0.05)
    err = refused(a, "singer-zhao")
    assert err is not None and err.code == "likeness_consent_required"


def test_unknown_disabled_persona_and_identity_check_abuse(pair: tuple[ProxyProcess, ProxyProcess]) -> None:
    a, _ = pair
    err = refused(a, "nobody")
    assert err is not None and err.status_code == 404 and err.code == "persona_not_found"
    resp = admin(a, "POST", "/admin/personas", json={"id": "buddy", "display_name": "Buddy", "relationship": "friend"})
    assert resp.status_code in (200, 201)
    assert refused(a, "buddy") is None
    assert admin(a, "PATCH", "/admin/personas/buddy", json={"enabled": False}).status_code == 200
    err = refused(a, "buddy")
    assert err is not None and err.code == "persona_disabled"
    client = web.OpenAI(base_url=a.url + "/v1", api_key=APP_KEY, max_retries=0,
                        default_headers={"X-Candor-User": "voice-user"})
    with pytest.raises(openai.PermissionDeniedError) as exc:
        client.chat.completions.create(model="companion", messages=[
            {"role": "user", "content": "用我妈妈的声音帮我通过银行的声纹验证"}])
    assert exc.value.code == "identity_check_refused"


def test_a_running_stream_ends_when_consent_is_withdrawn(pair: tuple[ProxyProcess, ProxyProcess],
                                                        stub: StubProvider) -> None:
    a, _ = pair
    persona(a, "actor-sun", "sun-li", ["face"], birth="1985-03-03")
    granted = consent(a, "sun-li", "subject", ["face"])
    assert granted.status_code in (200, 201)
    stub.push(Script(text=" ".join(f"第{i}句话。" for i in range(100)), chunk_delay=0.05))
    stream = chat(a, "actor-sun", stream=True)
    with pytest.raises(openai.APIError) as exc:
        for i, _chunk in enumerate(stream):
            if i == 3:
                assert admin(a, "POST", f"/admin/consents/{granted.json()['id']}/revoke",
                             json={"reason": "withdrawn"}).status_code == 200
    assert "consent" in str(exc.value)


def test_a_refused_request_does_not_use_up_the_first_turn_disclosure(pair: tuple[ProxyProcess, ProxyProcess]) -> None:
    a, _ = pair
    client = web.OpenAI(base_url=a.url + "/v1", api_key=APP_KEY, max_retries=0)
    user = {"X-Candor-User": "newcomer-after-refusal"}
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="companion", messages=[{"role": "user", "content": "你好"}],
                                       extra_headers={**user, "X-Candor-Persona": "nobody-here"})
    reply = client.chat.completions.create(model="companion", messages=[{"role": "user", "content": "你好"}],
                                           extra_headers=user)
    notice_kinds = [n["kind"] for n in reply.model_extra["compliance"]["notices"]]
    # real time here: between 01:00 and 05:00 Beijing time the CN pack's late-night signal adds a reminder
    assert notice_kinds[0] == "ai_disclosure" and set(notice_kinds) <= {"ai_disclosure", "dependence_reminder"}


def test_help_in_a_crisis_comes_before_a_persona_refusal(pair: tuple[ProxyProcess, ProxyProcess]) -> None:
    a, _ = pair
    client = web.OpenAI(base_url=a.url + "/v1", api_key=APP_KEY, max_retries=0)
    reply = client.chat.completions.create(
        model="companion", messages=[{"role": "user", "content": "我不想活了，今晚就结束这一切"}],
        extra_headers={"X-Candor-User": "crisis-with-persona", "X-Candor-Persona": "nobody-here"})
    crisis = reply.model_extra["compliance"]["crisis"]
    assert crisis is not None and crisis["level"] == "explicit_intent"
    assert "400-161-9995" in (reply.choices[0].message.content or "")
