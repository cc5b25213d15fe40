"""The tests' HTTP calls: httpx's top-level functions and the openai SDK's client, sharing one TLS context.

Every httpx client builds an SSL context and loads certifi's CA bundle into it: ~20 ms of CPU, also for the
plain-HTTP loopback servers the tests talk to, where it is never used. ``httpx.get()`` builds a client per call,
so a test polling a starting proxy every 50 ms, or sending a few hundred requests, spent most of its CPU there
(a fifth of the whole suite's, in profiles), and slowed the proxy it waited for. These build the context once;
the calls are otherwise httpx's own: a new client and a new connection per call, as ``httpx.get()`` makes them,
and the SDK's default client (``openai.DefaultHttpxClient``) with its limits, timeouts and redirects."""

from __future__ import annotations

from typing import Any

import httpx
import openai

TLS = httpx.create_ssl_context()   # what every httpx client would build for itself (verify=True), built once


def request(method: str, url: str, **kw: Any) -> httpx.Response:
    return httpx.request(method, url, verify=TLS, **kw)


def get(url: str, **kw: Any) -> httpx.Response:
    return httpx.get(url, verify=TLS, **kw)


def post(url: str, **kw: Any) -> httpx.Response:
    return httpx.post(url, verify=TLS, **kw)


def delete(url: str, **kw: Any) -> httpx.Response:
    return httpx.delete(url, verify=TLS, **kw)


def stream(method: str, url: str, **kw: Any) -> Any:
    """``httpx.stream`` (a context manager)."""
    return httpx.stream(method, url, verify=TLS, **kw)


def client(**kw: Any) -> httpx.Client:
    """An ``httpx.Client`` (for a test that reuses one across calls, e.g. a polling loop)."""
    return httpx.Client(verify=TLS, **kw)


def OpenAI(**kw: Any) -> openai.OpenAI:
    """``openai.OpenAI(...)`` on the SDK's default HTTP client, built on the shared TLS context."""
    return openai.OpenAI(http_client=openai.DefaultHttpxClient(verify=TLS), **kw)
