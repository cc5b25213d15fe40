"""Console sessions (signed cookies, expiry, sign-out, key rotation, CSRF tokens), the language choice,
and the event filters, without a server."""

from __future__ import annotations

import pytest

from middleware.console.eventsq import decode_cursor, encode_cursor, parse_filters
from middleware.console.i18n import MESSAGES, pick_lang, translator
from middleware.console.session import Sessions
from middleware.console.web import safe_next


@pytest.fixture
def sessions(monkeypatch: pytest.MonkeyPatch) -> Sessions:
    monkeypatch.setenv("T_ADMIN", "admin-secret")
    monkeypatch.setenv("T_AUDITOR", "auditor-secret")
    return Sessions("T_ADMIN", "T_AUDITOR", lifetime=100)


def test_keys_map_to_roles(sessions: Sessions) -> None:
    assert sessions.role_for_key("admin-secret") == "admin"
    assert sessions.role_for_key("auditor-secret") == "auditor"
    assert sessions.role_for_key("admin-secret ") == "admin"        # pasted with a trailing space
    assert sessions.role_for_key("admin") is None and sessions.role_for_key("") is None


def test_a_session_expires_and_its_cookie_cannot_be_altered(sessions: Sessions) -> None:
    cookie, s = sessions.issue("auditor", now=1000)
    assert sessions.read(cookie, now=1050) == s
    assert sessions.read(cookie, now=1100) is None                  # expired
    sid, _role, exp, mac = cookie.split(".")
    assert sessions.read(f"{sid}.admin.{exp}.{mac}", now=1050) is None      # promoted to admin
    assert sessions.read(f"{sid}.auditor.{int(exp) + 999}.{mac}", now=1050) is None   # life extended
    assert sessions.read(None) is None and sessions.read("a.b.c") is None and sessions.read("x" * 300) is None


def test_sign_out_and_key_rotation_end_sessions(sessions: Sessions, monkeypatch: pytest.MonkeyPatch) -> None:
    cookie, s = sessions.issue("admin", now=1000)
    other, _ = sessions.issue("admin", now=1000)
    sessions.end(s, now=1001)
    assert sessions.read(cookie, now=1002) is None and sessions.read(other, now=1002) is not None
    monkeypatch.setenv("T_ADMIN", "rotated")
    assert sessions.read(other, now=1002) is None
    monkeypatch.delenv("T_ADMIN")
    assert sessions.read(other, now=1002) is None


def test_csrf_tokens_belong_to_their_session(sessions: Sessions) -> None:
    _, a = sessions.issue("admin", now=1000)
    _, b = sessions.issue("admin", now=1000)
    assert Sessions.csrf_ok(a, a.csrf) and not Sessions.csrf_ok(a, b.csrf)
    assert not Sessions.csrf_ok(a, None) and not Sessions.csrf_ok(a, "")


def test_language_choice() -> None:
    assert pick_lang(None, "zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert pick_lang(None, "en-US,zh;q=0.5") == "en"
    assert pick_lang(None, "fr-FR, de") == "en"
    assert pick_lang("zh", "en") == "zh"    # the switch wins over the browser
    assert translator("zh")("nav_overview") == "概览" and translator("en")("nav_overview") == "Overview"
    assert all(len(pair) == 2 and all(pair) for pair in MESSAGES.values())            # both languages, always


def test_redirects_stay_in_the_console() -> None:
    assert safe_next("/console/events?x=1") == "/console/events?x=1"
    for bad in ("https://evil.example/", "//evil.example/console", "/admin", "/console\\..\\x", None, ""):
        assert safe_next(bad) == "/console"


def test_event_filters() -> None:
    f = parse_filters({"user": "u1", "kind": "exchange,crisis", "requirement": "anth-time-1", "decision": "usage"},
                      lambda raw: f"ref-{raw}")
    assert f.store.user_ref == "ref-u1" and f.store.kind is None and f.kinds == {"exchange", "crisis"}
    assert f.requirement == "ANTH-TIME-1" and f.python_side
    with pytest.raises(ValueError, match="unknown kind"):
        parse_filters({"kind": "exchange,bogus"}, str)
    with pytest.raises(ValueError, match="bad time"):
        parse_filters({"since": "last tuesday"}, str)
    assert decode_cursor(encode_cursor((5, "s", 7))) == (5, "s", 7)
    with pytest.raises(ValueError):
        decode_cursor("bm9wZQ")
