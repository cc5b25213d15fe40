"""Bounded input before anything else runs: heads, field types, content parts, uvicorn's own errors,
``/readyz`` details and the echoed session header (issue: foundations)."""

from __future__ import annotations

import contextlib
import socket
from typing import Any

import httpx
import pytest

from tests import web
from tests.conftest import APP_KEY
from tests.proxy import ProxyProcess

AUTH = {"authorization": f"Bearer {APP_KEY}"}


@pytest.fixture
def proxy(lean_proxy: ProxyProcess) -> ProxyProcess:
    """The e2e deployment without the LiteLLM-routed model (conftest.py): what is bounded here is answered
    before any model is chosen, and the proxy starts without LiteLLM's import (seconds of CPU)."""
    return lean_proxy


def _post(proxy: ProxyProcess, body: dict[str, Any], **headers: str) -> httpx.Response:
    return web.post(proxy.url + "/v1/chat/completions", json=body,
                    headers={**AUTH, "x-candor-user": "bounded-input", **headers}, timeout=10)


def _assert_openai_error(resp: httpx.Response, status: int, code: str, param: str | None = None) -> None:
    assert resp.status_code == status, resp.text
    err = resp.json()["error"]
    assert set(err) == {"message", "type", "code", "param"} and err["code"] == code and err["message"]
    if param is not None:
        assert err["param"] == param, err


def _raw(proxy: ProxyProcess, data: bytes) -> bytes:
    host, port = proxy.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)   # the server may close before it has read everything we send
        chunks = []
        while True:
            try:
                part = sock.recv(65536)
            except ConnectionResetError:
                break
            if not part:
                break
            chunks.append(part)
    return b"".join(chunks)


def test_oversized_headers_get_431_before_the_key_is_checked(proxy: ProxyProcess) -> None:
    head = b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nx-pad: " + b"a" * (4 * 1024 * 1024)
    answer = _raw(proxy, head + b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
    assert b'"code":"request_headers_too_large"' in answer
    assert web.get(proxy.url + "/healthz", timeout=5).status_code == 200   # the proxy stays up


def test_too_many_headers_get_431(proxy: ProxyProcess) -> None:
    many = b"".join(b"x-h%d: v\r\n" % i for i in range(500))
    answer = _raw(proxy, b"GET /healthz HTTP/1.1\r\nhost: x\r\n" + many + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]


def test_malformed_http_gets_an_openai_shaped_400(proxy: ProxyProcess) -> None:
    answer = _raw(proxy, b"NOT HTTP AT ALL\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    body = answer.partition(b"\r\n\r\n")[2]
    assert b'"error"' in body and b'"code":"invalid_request"' in body


def test_normal_sized_headers_pass(proxy: ProxyProcess) -> None:
    resp = _post(proxy, {"model": "candor-demo", "messages": [{"role": "user", "content": "hi"}]},
                 **{"x-pad": "a" * 8000})
    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize(("field", "value"), [
    ("n", True), ("n", 1.0), ("stream", "yes"), ("temperature", True), ("max_tokens", "100"),
    ("stop", [1]), ("tools", {"type": "function"}), ("response_format", {"type": 1}), ("user", 7),
])
def test_fields_have_strict_types(proxy: ProxyProcess, field: str, value: Any) -> None:
    body = {"model": "candor-demo", "messages": [{"role": "user", "content": "hi"}], field: value}
    _assert_openai_error(_post(proxy, body), 400, "invalid_request", field)


@pytest.mark.parametrize(("content", "param"), [
    ([1, "x", None], "messages[0].content[0]"),
    ([{"type": "text", "text": {"nested": "object"}}], "messages[0].content[0].text"),
    ([{"type": "image_url", "image_url": "http://x"}], "messages[0].content[0].image_url"),
    ([{"type": "image_url", "image_url": {"detail": "low"}}], "messages[0].content[0].image_url.url"),
    ([{"type": "hologram"}], "messages[0].content[0].type"),
    ([{"text": "no type"}], "messages[0].content[0]"),
])
def test_malformed_content_parts_are_400_not_502(proxy: ProxyProcess, content: Any, param: str) -> None:
    body = {"model": "candor-demo", "messages": [{"role": "user", "content": content}]}
    _assert_openai_error(_post(proxy, body), 400, "invalid_request", param)


def test_well_formed_content_parts_pass(proxy: ProxyProcess) -> None:
    body = {"model": "candor-demo", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"}}]}]}
    assert _post(proxy, body).status_code == 200


def test_readyz_details_need_an_operator_key(proxy: ProxyProcess) -> None:
    anonymous = web.get(proxy.url + "/readyz", timeout=5).json()
    assert anonymous["status"] == "ready"
    assert all(set(check) == {"ok"} for check in anonymous["checks"].values()), anonymous
    assert ".db" not in str(anonymous) and "sqlite" not in str(anonymous)
    with_app_key = web.get(proxy.url + "/readyz", headers=AUTH, timeout=5).json()
    assert all(set(check) == {"ok"} for check in with_app_key["checks"].values())


@pytest.mark.parametrize("session", ["abc def", "会话-1", "a\tb"])
def test_a_session_header_that_cannot_be_echoed_safely_is_refused(proxy: ProxyProcess, session: str) -> None:
    headers = {**AUTH, "x-candor-session": session.encode()}   # raw UTF-8 bytes, as a client may send
    resp = web.post(proxy.url + "/v1/chat/completions", headers=headers,
                    json={"model": "candor-demo", "messages": [{"role": "user", "content": "hi"}]}, timeout=10)
    _assert_openai_error(resp, 400, "invalid_request", "X-Candor-Session")


def test_a_plain_session_header_is_echoed(proxy: ProxyProcess) -> None:
    resp = _post(proxy, {"model": "candor-demo", "messages": [{"role": "user", "content": "hi"}]},
                 **{"x-candor-session": "app-session:42"})
    assert resp.status_code == 200 and resp.headers["x-candor-session"] == "app-session:42"
