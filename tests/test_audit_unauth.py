"""Unauthenticated traffic is counted, not logged one by one (issue 14): a keyless flood writes one
aggregated ``unauthenticated`` event per interval and per-source metrics, never an event a request."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from middleware.audit.keys import AuditKeys
from middleware.audit.store import EventFilter
from middleware.audit.unauth import UnauthenticatedTally
from tests import web
from tests.clockproxy import running_proxy
from tests.test_audit_support import Backend, backend_fixture, fresh_store, keys_fixture, open_log  # noqa: F401

FLOOD = 120   # keyless requests: many times the events one interval may write (the count is not the point)


async def test_one_event_per_interval_with_counts_per_source(backend: Backend, keys: AuditKeys) -> None:
    log = await open_log(backend, keys)
    tally = UnauthenticatedTally(lambda: log, interval=3600)
    for i in range(1000):
        tally.count("10.0.0.9" if i % 10 else f"198.51.100.{i // 10}")   # 1 big source, 100 small
    await tally.flush()
    await tally.flush()   # nothing new: no event
    await log.close()
    store = await fresh_store(backend)
    try:
        rows = await store.query(EventFilter(kinds=("unauthenticated",)), None, 100)
    finally:
        await store.close()
    assert len(rows) == 1
    import orjson

    detail = orjson.loads(rows[0].body)["decisions"][0]["detail"]
    assert detail["total"] == 1000 and detail["by_source"]["10.0.0.9"] == 900
    assert sum(detail["by_source"].values()) + detail["other_requests"] == 1000
    assert len(detail["by_source"]) <= 50 and detail["other_sources"] == 101 - len(detail["by_source"])


def test_keyless_flood_through_the_proxy_is_counted_not_logged(tmp_path: Path) -> None:
    cfg = {"models": [{"name": "candor-demo", "target": "candor/demo"}], "apps": [{"id": "a", "key_env": "APP_K"}],
           "audit": {"url": f"sqlite:///{tmp_path}/audit.db", "key_dir": str(tmp_path / "keys"),
                     "unauthenticated_interval": "1s"}}
    with running_proxy(tmp_path, cfg, env={"APP_K": "k", "CANDOR_AUDITOR_KEY": "aud"}) as (server, _):
        url = server.url + "/v1/chat/completions"
        body = {"model": "candor-demo", "messages": [{"role": "user", "content": "hi"}]}

        def hit(_: int) -> int:
            return web.post(url, json=body, headers={"Authorization": "Bearer wrong"}, timeout=10).status_code

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=4) as pool:
            statuses = list(pool.map(hit, range(FLOOD)))
        seconds = time.monotonic() - started
        assert set(statuses) == {401}
        metrics = web.get(server.url + "/metrics").text
        assert 'candor_unauthenticated_total{source="127.0.0.1"}' in metrics
        auditor = {"Authorization": "Bearer aud"}
        refusals = web.get(server.url + "/audit/events", params={"kind": "refusal"}, headers=auditor).json()
        assert refusals["data"] == []   # not one event per request
        deadline = time.monotonic() + 30   # the tally flushes once per 1 s interval: wait for the events
        while True:
            data = web.get(server.url + "/audit/events", params={"kind": "unauthenticated"},
                           headers=auditor).json()["data"]
            total = sum(e["decisions"][0]["detail"]["total"] for e in data)
            if total >= FLOOD or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert total == FLOOD
        assert 1 <= len(data) <= seconds + 3   # one event per 1 s interval at most, not one per request


def test_every_model_endpoint_counts_keyless_requests_instead_of_logging_them(tmp_path: Path) -> None:
    """The tally sits where every endpoint answers a refusal (middleware/pipeline/lifecycle.py), not in chat alone."""
    cfg = {"models": [{"name": "candor-demo", "target": "candor/demo"}], "apps": [{"id": "a", "key_env": "APP_K"}],
           "audit": {"url": f"sqlite:///{tmp_path}/audit.db", "key_dir": str(tmp_path / "keys"),
                     "unauthenticated_interval": "1s"}}
    requests = [("/v1/chat/completions", {"model": "candor-demo", "messages": [{"role": "user", "content": "hi"}]}),
                ("/v1/responses", {"model": "candor-demo", "input": "hi"}),
                ("/v1/embeddings", {"model": "candor-demo", "input": "hi"}),
                ("/v1/images/generations", {"model": "candor-demo", "prompt": "a lake"}),
                ("/v1/audio/speech", {"model": "candor-demo", "input": "hi", "voice": "alloy"})]
    with running_proxy(tmp_path, cfg, env={"APP_K": "k", "CANDOR_AUDITOR_KEY": "aud"}) as (server, _):
        for path, body in requests:
            for _ in range(5):
                r = web.post(server.url + path, json=body, headers={"Authorization": "Bearer wrong"}, timeout=10)
                assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key", path
        auditor = {"Authorization": "Bearer aud"}
        assert web.get(server.url + "/audit/events", params={"kind": "refusal"}, headers=auditor).json()[
            "data"] == []
        deadline, total = time.monotonic() + 30, 0
        while time.monotonic() < deadline and total < 25:
            data = web.get(server.url + "/audit/events", params={"kind": "unauthenticated"},
                           headers=auditor).json()["data"]
            total = sum(e["decisions"][0]["detail"]["total"] for e in data)
            time.sleep(0.2)
        assert total == 25
