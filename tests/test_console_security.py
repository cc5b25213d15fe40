"""The console's guard, over HTTP against a running proxy: nothing answers without a session, an
auditor cannot write, a write without its CSRF token (or from another origin) is refused, the
Content-Security-Policy and cookie attributes hold, and sign-ins are audit events."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from starlette.routing import Route

from tests import web
from tests.console_support import ADMIN, AUDITOR, STRICT_KEY, World, console_world, wait_for
from tests.stubs import StubProvider

OPEN = {"/console/signin", "/console/lang/{lang}", "/console/static/{name}"}   # reachable signed out, by design
PAGES = ["/console", "/console/events", "/console/integrity", "/console/report", "/console/ops/likeness",
         "/console/ops/profiles?user=someone", "/console/ops/alerts", "/console/ops/handovers",
         "/console/ops/policies?policy=cn-anthropomorphic-2026"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, stub: StubProvider) -> Iterator[World]:
    with console_world(tmp_path_factory.mktemp("console-sec"), stub, None) as w:
        w.chat("someone", "你好")
        resp = w.api("POST", "/admin/personas", {"id": "sec-persona", "display_name": "Sec", "relationship": "friend",
                                                 "likeness": {"subject_id": "sec-subject", "kinds": ["face"]}})
        assert resp.status_code == 201, resp.text
        yield w


def console_routes(w: World) -> list[tuple[str, str]]:
    """(method, path) of every console route, read from the running app, parameters filled in."""
    app: Any = w.server.server.config.app
    out = []
    for route in app.app.routes:
        if isinstance(route, Route) and route.path.startswith("/console") and route.path not in OPEN:
            path = re.sub(r"\{[^}]+\}", "x", route.path)
            out += [(m, path) for m in sorted(route.methods or ()) if m != "HEAD"]
    return out


def signed_in(w: World, key: str) -> httpx.Client:
    client = web.client(base_url=w.url, timeout=10)
    resp = client.post("/console/signin", data={"key": key, "next": "/console"})
    assert resp.status_code == 303 and "candor_console" in client.cookies
    return client


def csrf_of(client: httpx.Client) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', client.get("/console").text)
    assert match
    return match.group(1)


def consent(w: World) -> dict[str, Any]:
    resp = w.api("POST", "/admin/consents", {"subject_id": "sec-subject", "granted_by": "subject", "scopes": ["face"],
                                             "purpose": "test", "evidence_sha256": "cd" * 32})
    assert resp.status_code == 201, resp.text
    data: dict[str, Any] = resp.json()
    return data


def consent_status(w: World, consent_id: str) -> str:
    status: str = w.api("GET", f"/admin/consents/{consent_id}", key=AUDITOR).json()["status"]
    return status


def test_no_console_page_or_api_answers_without_a_session(world: World) -> None:
    routes = console_routes(world)
    assert len(routes) >= 20
    assert ("GET", "/console/api/overview") in routes and ("POST", "/console/ops/consents") in routes
    forged = "abc.admin.99999999999." + "0" * 64
    for cookies in ({}, {"candor_console": forged}, {"candor_console": "garbage"}):
        client = web.client(base_url=world.url, cookies=cookies, timeout=10)
        for method, path in routes:
            resp = client.request(method, path, data={"csrf": "x"})
            if method == "GET" and "/api/" not in path:
                assert resp.status_code == 303, (method, path, resp.status_code)
                assert resp.headers["location"].startswith("/console/signin"), path
            else:
                assert resp.status_code == 401, (method, path, resp.status_code)
                assert resp.json()["error"]["code"] == "session_required"
            assert "event_id" not in resp.text and "user_ref" not in resp.text


def test_a_key_in_the_url_never_signs_in_and_a_wrong_key_is_recorded(world: World) -> None:
    client = web.client(base_url=world.url, timeout=10)
    resp = client.get(f"/console/signin?key={ADMIN}")
    assert resp.status_code == 200 and "candor_console" not in client.cookies
    resp = client.post("/console/signin", data={"key": "not-a-key"})
    assert resp.status_code == 401 and "candor_console" not in client.cookies
    refused = [e for e in world.events("console") if e["decisions"][0]["rule"] == "console.signin"
               and e["decisions"][0]["outcome"] == "refused"]
    assert refused and "not-a-key" not in str(refused)          # the attempt is recorded, never the key


def test_session_cookie_attributes_and_sign_in_events(world: World) -> None:
    client = web.client(base_url=world.url, timeout=10)
    resp = client.post("/console/signin", data={"key": AUDITOR})
    cookie = resp.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/console" in cookie
    assert "max-age=28800" in cookie and "secure" not in cookie          # plain http here
    tls = web.post(world.url + "/console/signin", data={"key": AUDITOR}, headers={"x-forwarded-proto": "https"})
    assert "; secure" in tls.headers["set-cookie"].lower()               # served over TLS (behind a proxy)
    roles = [e["decisions"][0]["detail"]["role"] for e in world.events("console")
             if e["decisions"][0]["rule"] == "console.signin" and e["decisions"][0]["outcome"] == "done"]
    assert roles.count("auditor") >= 2


def test_an_auditor_session_cannot_write(world: World) -> None:
    granted = consent(world)
    client = signed_in(world, AUDITOR)
    token = csrf_of(client)
    # verify and receipts read the log and change nothing: an auditor's own evidence (test_console_evidence.py)
    writes = [p for m, p in console_routes(world) if m == "POST" and p not in (
        "/console/signout", "/console/integrity/verify", "/console/integrity/receipt")]
    assert "/console/ops/consents/x/revoke" in writes and len(writes) >= 6
    for path in writes:
        resp = client.post(path.replace("/x/", f"/{granted['id']}/"), data={"csrf": token, "reason": "auditor"})
        assert resp.status_code == 403 and resp.json()["error"]["code"] == "permission_denied", path
    assert consent_status(world, granted["id"]) == "active"
    assert client.post("/console/integrity/verify", data={"csrf": token}).status_code == 200   # reading is allowed
    assert "revoke" not in client.get("/console/ops/likeness").text.lower().split("<h2>")[2]   # no write forms shown


def test_a_write_without_the_csrf_token_is_refused(world: World) -> None:
    granted = consent(world)
    admin = signed_in(world, ADMIN)
    other = csrf_of(signed_in(world, ADMIN))                     # another session's token
    path = f"/console/ops/consents/{granted['id']}/revoke"
    for data in ({}, {"csrf": ""}, {"csrf": "0" * 64}, {"csrf": other}):
        resp = admin.post(path, data={**data, "reason": "forged"})
        assert resp.status_code == 403 and resp.json()["error"]["code"] == "csrf_failed", data
    token = csrf_of(admin)
    resp = admin.post(path, data={"csrf": token}, headers={"origin": "http://evil.example"})
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "csrf_failed"
    assert consent_status(world, granted["id"]) == "active"
    resp = admin.post(path, data={"csrf": token, "reason": "with the token"})      # the same write, done properly
    assert resp.status_code == 303 and consent_status(world, granted["id"]) == "revoked"


def test_the_csp_header_is_present_and_pages_have_no_inline_script_or_style(world: World) -> None:
    client = signed_in(world, ADMIN)
    for path in [*PAGES, "/console/signin", "/console/api/overview"]:
        resp = (web.get(world.url + path) if path == "/console/signin" else client.get(path))
        assert resp.status_code == 200, path
        csp = resp.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp and "connect-src 'self'" in csp
        assert "unsafe" not in csp and "frame-ancestors 'none'" in csp
        assert resp.headers["x-content-type-options"] == "nosniff"
        if resp.headers["content-type"].startswith("text/html"):
            assert not re.search(r"<script(?![^>]*\bsrc=)", resp.text), path        # every script is a file
            assert not re.search(r"<style|\sstyle=", resp.text), path
            assert not re.search(r"(src|href)=\"(https?:)?//", resp.text), path     # nothing from another host


def test_signed_out_sessions_stop_working(world: World) -> None:
    client = signed_in(world, AUDITOR)
    token = csrf_of(client)
    cookie = client.cookies["candor_console"]
    assert client.post("/console/signout", data={"csrf": token}).status_code == 303
    replay = web.get(world.url + "/console/api/overview", cookies={"candor_console": cookie})
    assert replay.status_code == 401


def test_bad_console_queries_get_clear_errors(world: World) -> None:
    client = signed_in(world, AUDITOR)
    for path, words in (("/console/api/events?kind=nope", "unknown kind"),
                        ("/console/api/events?cursor=%%%", "bad cursor"),
                        ("/console/api/overview?by=week", "hour or day"),
                        ("/console/api/overview?by=hour&since=1000d", "at most"),
                        ("/console/api/overview?since=yesterday", "neither")):
        resp = client.get(path)
        assert resp.status_code == 400, path
        err = resp.json()["error"]
        assert set(err) == {"message", "type", "code", "param"} and words in err["message"], (path, err)
    assert client.get("/console/events?kind=nope").status_code == 400
    assert client.get("/healthz").status_code == 200                       # the proxy stays up


def test_language_follows_accept_language_and_the_switch(world: World) -> None:
    client = signed_in(world, AUDITOR)
    assert "<h1>概览</h1>" in client.get("/console", headers={"accept-language": "zh-CN,zh;q=0.9"}).text
    assert "<h1>Overview</h1>" in client.get("/console", headers={"accept-language": "en-GB"}).text
    client.get("/console/lang/zh?next=/console")
    assert "<h1>概览</h1>" in client.get("/console", headers={"accept-language": "en-GB"}).text
    assert client.get("/console/lang/zh?next=https://evil.example/").headers["location"] == "/console"


def test_event_filters_the_store_cannot_index(world: World) -> None:
    client = signed_in(world, AUDITOR)
    world.chat("filter-user", "你好")
    mine = client.get("/console/api/events?user=filter-user").json()["data"]
    assert len(mine) == 1
    cited = client.get("/console/api/events?user=filter-user&requirement=anth-disclose-1").json()["data"]
    by_rule = client.get("/console/api/events?user=filter-user&decision=labels:labelled").json()["data"]
    assert [e["event_id"] for e in cited] == [e["event_id"] for e in by_rule] == [mine[0]["event_id"]]
    assert client.get("/console/api/events?user=filter-user&requirement=ANTH-CRISIS-3").json()["data"] == []
    assert client.get("/console/api/events?user=filter-user&persona=nobody").json()["data"] == []
    version = mine[0]["policy_version"]
    assert len(client.get(f"/console/api/events?user=filter-user&policy_version={version}").json()["data"]) == 1
    kinds = client.get("/console/api/events?kind=exchange,console&limit=5").json()["data"]
    assert {e["kind"] for e in kinds} <= {"exchange", "console"} and len(kinds) >= 2


def test_no_page_shows_a_key(world: World) -> None:
    client = signed_in(world, ADMIN)
    for path in PAGES:
        assert ADMIN not in client.get(path).text and AUDITOR not in client.get(path).text


def test_admin_retries_an_undelivered_alert_and_each_outcome_is_recorded(world: World) -> None:
    reply = world.chat("alert-user", "我不想活了，活着没有任何意义")
    event_id = (reply.model_extra or {})["compliance"]["event_id"]
    pending = world.api("GET", "/admin/alerts?status=pending", key=AUDITOR).json()["data"]
    (alert,) = [a for a in pending if a["event_id"] == event_id]
    admin = signed_in(world, ADMIN)
    token = csrf_of(admin)
    page = admin.get("/console/ops/alerts").text
    assert f'id="retry-{alert["id"]}"' in page
    resp = admin.post(f"/console/ops/alerts/{alert['id']}/retry", data={"csrf": token})
    assert resp.status_code == 303 and resp.headers["location"].endswith("msg=done")
    due = world.api("GET", f"/admin/alerts/{alert['id']}", key=AUDITOR).json()["delivery"]["next_attempt_at"]
    assert due is not None
    resp = admin.post("/console/ops/alerts/alr_unknown/retry", data={"csrf": token, "back": "/console/ops/alerts"})
    assert resp.status_code == 303 and "err=" in resp.headers["location"]
    retries = [(e["decisions"][0]["outcome"], e["decisions"][0]["detail"]["target"]) for e in world.events("console")
               if e["decisions"][0]["rule"] == "console.alert_retry"]
    assert retries == [("done", {"alert_id": alert["id"]}), ("refused", {"alert_id": "alr_unknown"})]


def test_admin_releases_a_crisis_hand_over(world: World) -> None:
    reply = world.chat("handover-user", "我已经把安眠药都准备好了", key=STRICT_KEY)
    comp = (reply.model_extra or {})["compliance"]
    assert comp["crisis"]["handover"] is True
    session = comp["session_id"]
    auditor = signed_in(world, AUDITOR)
    assert f'data-session="{session}"' in auditor.get("/console/ops/handovers").text
    admin = signed_in(world, ADMIN)
    resp = admin.post(f"/console/ops/handovers/{session}/release", data={"csrf": csrf_of(admin)})
    assert resp.status_code == 303 and resp.headers["location"].endswith("msg=done")
    assert f'data-session="{session}"' not in admin.get("/console/ops/handovers").text
    (release,) = [e for e in world.events("handover_release") if e["session_id"] == session]
    assert release["decisions"][0]["detail"]["actor"] == "console"
    world.clock.advance(60)
    after = world.chat("handover-user", "你还在吗", key=STRICT_KEY)
    assert "handover_active" not in (after.model_extra or {})["compliance"]["actions"]


def test_admin_sets_a_user_profile(world: World) -> None:
    admin = signed_in(world, ADMIN)
    resp = admin.post("/console/ops/profiles/teen-1", data={"csrf": csrf_of(admin), "age_band": "minor",
                                                          "guardian_contact": "mum 138", "guardian_consent": "1"})
    assert resp.status_code == 303, resp.text
    profile = world.api("GET", "/admin/users/teen-1", key=AUDITOR).json()
    assert profile["age_band"] == "minor" and profile["guardian_contact"] == "mum 138" and profile["guardian_consent"]
    assert "mum 138" in admin.get("/console/ops/profiles?user=teen-1").text
    resp = admin.post("/console/ops/profiles/teen-1", data={"csrf": csrf_of(admin), "age_band": "toddler"})
    assert resp.status_code == 303 and "err=" in resp.headers["location"]      # refused, said on the page
    assert world.api("GET", "/admin/users/teen-1", key=AUDITOR).json()["age_band"] == "minor"


def test_a_rejected_policy_edit_is_listed_with_its_problem(world: World) -> None:
    policies = Path(world.server.server.config.app.state.config.policies_dir)
    (policies / "broken.yaml").write_text("id: broken\nextends: cn-anthropomorphic-2026\nusage: {remind_every: soon}\n")
    auditor = signed_in(world, AUDITOR)
    wait_for(lambda: any(e["decisions"][0]["outcome"] == "rejected" for e in world.events("policy_reload")), 30)
    page = auditor.get("/console/ops/policies").text
    assert "rejected" in page and "remind_every" in page
    assert "cn-anthropomorphic-2026" in page and "sha256:" in page          # the running policies and versions


def test_an_export_is_recorded_without_the_raw_user_id(world: World) -> None:
    client = signed_in(world, AUDITOR)
    resp = client.get("/console/export.jsonl?user=someone")
    lines = [line for line in resp.text.splitlines() if line]
    assert resp.status_code == 200 and lines and all('"user_ref"' in line for line in lines)
    (export,) = [e for e in world.events("console") if e["decisions"][0]["rule"] == "console.export"
                 and e["decisions"][0]["detail"]["format"] == "jsonl"]
    recorded = export["decisions"][0]["detail"]["filters"]["user"]
    assert recorded != "someone" and recorded == orjson.loads(lines[0])["user_ref"]


def test_admin_adds_a_persona_and_a_consent_and_disables_the_persona(world: World) -> None:
    admin = signed_in(world, ADMIN)
    token = csrf_of(admin)
    resp = admin.post("/console/ops/personas", data={"csrf": token, "id": "form-persona", "display_name": "Form",
                                                     "relationship": "friend", "subject_id": "form-subject",
                                                     "kinds": ["face", "voice"]})
    assert resp.status_code == 303 and resp.headers["location"].endswith("msg=done"), resp.text
    persona = world.api("GET", "/admin/personas/form-persona", key=AUDITOR).json()
    assert persona["likeness"]["kinds"] == ["face", "voice"] and persona["enabled"] is True
    resp = admin.post("/console/ops/consents", data={"csrf": token, "subject_id": "form-subject",
                                                     "granted_by": "subject", "scopes": ["face", "voice"],
                                                     "purpose": "form test", "evidence_sha256": "ef" * 32})
    assert resp.status_code == 303 and resp.headers["location"].endswith("msg=done"), resp.text
    consents = world.api("GET", "/admin/consents?subject_id=form-subject", key=AUDITOR).json()["data"]
    assert [(c["scopes"], c["status"]) for c in consents] == [(["face", "voice"], "active")]
    resp = admin.post("/console/ops/consents", data={"csrf": token, "subject_id": "form-subject",
                                                     "granted_by": "subject", "scopes": ["face"], "purpose": "x",
                                                     "evidence_sha256": "not-a-hash"})
    assert resp.status_code == 303 and "err=" in resp.headers["location"]       # refused, nothing added
    assert len(world.api("GET", "/admin/consents?subject_id=form-subject", key=AUDITOR).json()["data"]) == 1
    resp = admin.post("/console/ops/personas/form-persona/enabled", data={"csrf": token, "enabled": "0"})
    assert resp.status_code == 303
    assert world.api("GET", "/admin/personas/form-persona", key=AUDITOR).json()["enabled"] is False
    history = admin.get("/console/ops/likeness").text
    assert "form-subject" in history and "persona_change" in history and "consent_change" in history


def test_oversized_forms_are_refused_and_the_proxy_stays_up(world: World) -> None:
    admin = signed_in(world, ADMIN)
    big = {"csrf": csrf_of(admin), "reason": "x" * 70_000}
    resp = admin.post("/console/ops/consents/x/revoke", data=big)
    assert resp.status_code == 413 and resp.json()["error"]["code"] == "request_too_large"
    resp = web.post(world.url + "/console/signin", data={"key": "k" * 70_000})
    assert resp.status_code == 413
    assert admin.get("/console/api/overview").status_code == 200


def test_event_pages_follow_on_without_gaps_or_repeats(world: World) -> None:
    client = signed_in(world, AUDITOR)
    for i in range(3):
        world.chat("pager-user", f"第{i}条")
    whole = client.get("/console/api/events?user=pager-user&limit=10").json()
    assert len(whole["data"]) == 3 and whole["next_cursor"] is None
    first = client.get("/console/api/events?user=pager-user&limit=2").json()
    assert len(first["data"]) == 2 and first["next_cursor"]
    rest = client.get(f"/console/api/events?user=pager-user&limit=2&cursor={first['next_cursor']}").json()
    ids = [e["event_id"] for e in first["data"] + rest["data"]]
    assert ids == [e["event_id"] for e in whole["data"]]
    assert client.get("/console/api/events?limit=0").status_code == 400
    html = client.get("/console/events?user=pager-user").text
    assert html.count("data-event-id=") == 3 and 'id="next-page"' not in html
