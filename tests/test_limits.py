"""Per-worker limits (issue 18): pool size, pool wait, in-flight requests and keep-alive are configuration
with defaults, and a limit reached is a 503 with ``Retry-After`` in the OpenAI error shape plus an audit
event, never a silent wait. Unit tests of the pieces, then both limits through a running ``candor serve``."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from adapters.server.serve import raise_fd_limit
from adapters.upstream.openai_compat import ConnectionSlots, OpenAICompatibleUpstream, PoolExhausted
from middleware.config.deployment import CandorConfig, load_config
from middleware.pipeline.upstream import ModelRoute, UpstreamRequest
from tests import web
from tests.conftest import APP_KEY, UPSTREAM_KEY, e2e_config
from tests.proxy import ProxyProcess
from tests.stubs import Script, StubProvider

ROUTE = ModelRoute(name="m", adapter="passthrough", target="openai/x", upstream_model="x",
                   api_base="http://provider.test/v1", api_key="sk-test", timeout=2.0, connect_timeout=1.0)
AUDITOR = "auditor-limits-test"


# -- configuration ------------------------------------------------------------------------------------

def test_limits_have_sane_defaults() -> None:
    cfg = CandorConfig()
    assert cfg.server.max_in_flight == 2048 and cfg.server.keep_alive == 30.0 and cfg.server.backlog == 2048
    assert cfg.server.retry_after == 1.0
    assert cfg.upstream.max_connections == 2048 and cfg.upstream.pool_timeout == 0.0
    assert cfg.upstream.keepalive_expiry == 30.0
    # the pool holds every request the worker admits: the in-flight limit answers first
    assert cfg.upstream.max_connections >= cfg.server.max_in_flight


def test_limits_are_read_from_the_file_and_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "candor.yaml"
    path.write_text("server: {max_in_flight: 10, keep_alive: 5s, retry_after: 2s}\n"
                    "upstream: {max_connections: 8, pool_timeout: 250ms, keepalive_expiry: 1m}\n")
    cfg = load_config(path, environ={"CANDOR_UPSTREAM_MAX_CONNECTIONS": "4"})
    assert (cfg.server.max_in_flight, cfg.server.keep_alive, cfg.server.retry_after) == (10, 5.0, 2.0)
    assert (cfg.upstream.max_connections, cfg.upstream.pool_timeout, cfg.upstream.keepalive_expiry) == (4, 0.25, 60.0)


def test_a_bad_limit_is_refused_with_its_key(tmp_path: Path) -> None:
    from middleware.config.yamlfile import FileProblems

    path = tmp_path / "candor.yaml"
    path.write_text("upstream: {max_connections: 0}\n")
    with pytest.raises(FileProblems, match="max_connections"):
        load_config(path, environ={})


def test_the_open_file_limit_is_raised_for_the_connections() -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert raise_fd_limit(10) >= 10                       # never lowered
    assert resource.getrlimit(resource.RLIMIT_NOFILE) == (soft, hard)


# -- the upstream pool ---------------------------------------------------------------------------------

async def test_a_full_pool_refuses_at_once_with_retry_after() -> None:
    slots = ConnectionSlots(1, 0.0, retry_after=2.0)
    await slots.acquire(ROUTE)
    started = time.perf_counter()
    with pytest.raises(PoolExhausted) as caught:
        await slots.acquire(ROUTE)
    assert time.perf_counter() - started < 0.5            # no wait at all (room for a busy machine)
    err = caught.value
    assert (err.status, err.code, err.headers) == (503, "upstream_pool_exhausted", {"Retry-After": "2"})
    assert err.body()["error"]["type"] == "api_error" and "upstream.max_connections" in err.message
    assert slots.exhausted == 1 and slots.in_use == 1
    slots.release()
    await slots.acquire(ROUTE)                             # the freed slot is usable again
    assert slots.in_use == 1


async def test_pool_timeout_waits_that_long_and_no_longer() -> None:
    slots = ConnectionSlots(1, 0.1, retry_after=1.0)
    await slots.acquire(ROUTE)
    started = time.perf_counter()
    with pytest.raises(PoolExhausted, match=r"after waiting 0\.1s"):
        await slots.acquire(ROUTE)
    assert 0.08 <= time.perf_counter() - started < 1.0
    asyncio.get_running_loop().call_later(0.02, slots.release)
    await slots.acquire(ROUTE)                             # a slot freed within the wait is taken
    assert slots.in_use == 1


async def test_a_stream_holds_its_connection_until_it_ends() -> None:
    chunk = orjson.dumps({"id": "c", "choices": [{"index": 0, "delta": {"content": "a"}}]})
    gate = asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        yield b"data: " + chunk + b"\n\n"
        await gate.wait()
        yield b"data: [DONE]\n\n"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body(), headers={"content-type": "text/event-stream"})

    from middleware.config.deployment import UpstreamConfig

    up = OpenAICompatibleUpstream(httpx.AsyncClient(transport=httpx.MockTransport(handler)),
                                  pool=UpstreamConfig(max_connections=1), retry_after=1.0)
    req = UpstreamRequest(route=ROUTE, body={"model": "x", "messages": [], "stream": True}, stream=True)
    first = up.chat(req)
    await first.__anext__()                                # the stream is open: its connection is taken
    with pytest.raises(PoolExhausted):
        await up.chat(UpstreamRequest(route=ROUTE, body={"model": "x", "messages": []}, stream=False)).__anext__()
    gate.set()
    assert [x async for x in first] == []                  # [DONE]: the stream ends, the slot is free
    assert up.slots.in_use == 0
    second = up.chat(req)
    await second.__anext__()
    await second.aclose()                                  # a client that hangs up frees it too
    assert up.slots.in_use == 0


# -- through a running proxy ------------------------------------------------------------------------------

def _proxy(stub: StubProvider, tmp: Path, server: dict[str, Any], upstream: dict[str, Any]) -> ProxyProcess:
    (tmp / "policies").mkdir(exist_ok=True)
    cfg = e2e_config(stub.url, tmp)  # type: ignore[attr-defined]
    cfg["models"] = [m for m in cfg["models"] if not m["target"].startswith("anthropic/")]
    cfg["server"] = {**cfg["server"], **server}
    cfg["upstream"] = upstream
    return ProxyProcess(tmp, cfg, {"STUB_KEY": UPSTREAM_KEY, "E2E_APP_KEY": APP_KEY, "CANDOR_AUDITOR_KEY": AUDITOR})


class Holder:
    """Opens a slow stream through a proxy and keeps it open until ``release()`` (or the test's end)."""

    def __init__(self, stub: StubProvider) -> None:
        self.stub = stub
        self.threads: list[threading.Thread] = []
        self.stop = threading.Event()

    def __call__(self, proxy: ProxyProcess) -> None:
        # 30 s of stream: open for as long as the test could take on a busy machine; release() ends it early
        self.stub.push(Script(text=" ".join(["Slowly."] * 120), chunk_delay=0.25))   # sentences: relayed as they come
        opened = threading.Event()

        def run() -> None:
            with web.stream("POST", proxy.url + "/v1/chat/completions", timeout=60,
                            headers={"authorization": f"Bearer {APP_KEY}", "x-candor-user": "holder"},
                            json={"model": "companion", "stream": True,
                                  "messages": [{"role": "user", "content": "tell me a long story"}]}) as resp:
                assert resp.status_code == 200
                opened.set()
                for _ in resp.iter_bytes():
                    if self.stop.is_set():
                        break   # the client hangs up: the proxy's slot frees and it can stop at once

        t = threading.Thread(target=run, daemon=True)
        t.start()
        self.threads.append(t)
        assert opened.wait(30)
        time.sleep(0.1)

    def release(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(10)


@pytest.fixture()
def held_stream(stub: StubProvider) -> Iterator[Holder]:
    holder = Holder(stub)
    yield holder
    holder.release()


def _refused(proxy: ProxyProcess) -> httpx.Response:
    return web.post(proxy.url + "/v1/chat/completions", timeout=10,
                    headers={"authorization": f"Bearer {APP_KEY}", "x-candor-user": "second"},
                    json={"model": "companion", "messages": [{"role": "user", "content": "hello?"}]})


def _audited(proxy: ProxyProcess, event_id: str) -> dict[str, Any]:
    resp = web.get(proxy.url + "/audit/events", params={"kind": "error"},
                   headers={"authorization": f"Bearer {AUDITOR}"})
    assert resp.status_code == 200, resp.text
    found = [e for e in resp.json()["data"] if e["event_id"] == event_id]
    assert found, f"no audit event {event_id}"
    event: dict[str, Any] = found[0]
    return event


@pytest.mark.parametrize(("server", "upstream", "code"), [
    ({"max_in_flight": 1, "retry_after": "3s"}, {}, "server_busy"),
    ({"max_in_flight": 8, "retry_after": "3s"}, {"max_connections": 1}, "upstream_pool_exhausted"),
])
def test_a_limit_reached_through_the_proxy_is_an_audited_503(
        stub: StubProvider, tmp_path: Path, held_stream: Holder, server: dict[str, Any], upstream: dict[str, Any],
        code: str) -> None:
    with _proxy(stub, tmp_path, server, upstream) as proxy:
        held_stream(proxy)
        started = time.perf_counter()
        resp = _refused(proxy)
        assert time.perf_counter() - started < 2.0        # answered at once, not after the stream
        assert resp.status_code == 503, resp.text
        assert resp.headers["retry-after"] == "3"
        error = resp.json()["error"]
        assert error["code"] == code and error["type"] == "api_error" and error["param"] is None
        assert "candor.yaml" in error["message"]
        event = _audited(proxy, resp.headers["x-candor-event-id"])
        assert event["status"] == 503 and event["app_id"] == "e2e-app"
        assert any(d["detail"].get("code") == code for d in event["decisions"])
        metrics = web.get(proxy.url + "/metrics").text
        assert f'candor_overload_total{{code="{code}"}} 1.0' in metrics
        held_stream.release()   # before the proxy stops: it would wait for the stream to end
