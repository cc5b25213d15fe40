"""Two processes, each with its own Redis store, hammer one user across the reminder thresholds at once:
every reminder is delivered exactly once in total (the point of the atomic Lua transition)."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from adapters.state.redis_store import RedisStateStore
from middleware.state import ClockParams, DependenceParams, Observation
from tests.services import require_redis

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parent.parent
T0 = 1_772_416_800.0  # 2026-03-02 10:00 in Beijing
THRESHOLD = 7200.0
PARAMS = ClockParams(
    remind_every=THRESHOLD, idle_reset=1800.0, disclosure_every=THRESHOLD, reality_every=THRESHOLD,
    dependence=DependenceParams(min_interval=86400.0))
SCOPE = "app:hammered-user"

# Each worker: connect, say "ready", wait for "go", then send its share of requests 16 at a time, stamped
# around the threshold in shuffled order (as replicas with slightly different clocks would), with the
# attachment signal on every message. It prints how many of each reminder it was told to deliver.
WORKER = r"""
import asyncio, json, random, sys
from adapters.state.redis_store import RedisStateStore
from middleware.state import Observation
from tests.test_state_redis_multiprocess import PARAMS, SCOPE

async def main(url, prefix, times, seed):
    store = RedisStateStore.from_url(url, key_prefix=prefix)
    assert await store.ping()
    print("ready", flush=True)
    sys.stdin.readline()
    random.Random(seed).shuffle(times)
    gate = asyncio.Semaphore(16)
    async def one(t):
        async with gate:
            return await store.observe(SCOPE, Observation(t, None, True), PARAMS)
    decisions = await asyncio.gather(*(one(t) for t in times))
    await store.aclose()
    print(json.dumps({
        "requests": len(decisions),
        "usage": sum(d.usage_reminder for d in decisions),
        "disclose": sum(d.disclose for d in decisions),
        "reality": sum(d.reality_reminder for d in decisions),
        "dependence": sum(d.dependence_reminder for d in decisions),
    }), flush=True)

asyncio.run(main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4])))
"""


async def test_two_processes_deliver_each_reminder_exactly_once() -> None:
    url = require_redis()
    prefix = f"candor:test:{uuid.uuid4().hex}:"
    seeder = RedisStateStore.from_url(url, key_prefix=prefix)
    try:
        # just under two hours of continuous use, one request every 10 minutes
        first = await seeder.observe(SCOPE, Observation(T0), PARAMS)
        assert first.disclose and not first.dependence_reminder
        for t in range(600, int(THRESHOLD) - 60, 600):
            decision = await seeder.observe(SCOPE, Observation(T0 + t), PARAMS)
            assert not (decision.usage_reminder or decision.disclose or decision.reality_reminder)

        stamps = [T0 + THRESHOLD - 50 + i * 0.25 for i in range(600)]  # 2.5 minutes around the threshold
        workers = [
            await asyncio.create_subprocess_exec(
                sys.executable, "-c", WORKER, url, prefix, json.dumps(stamps[k::2]), str(k), cwd=ROOT,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            for k in range(2)]
        try:
            for worker in workers:
                assert worker.stdout is not None and worker.stderr is not None
                ready = await asyncio.wait_for(worker.stdout.readline(), 30)
                if ready.strip() != b"ready":
                    pytest.fail(f"worker did not start: {(await worker.stderr.read()).decode()}")
            for worker in workers:  # release both together
                assert worker.stdin is not None
                worker.stdin.write(b"go\n")
            outputs = await asyncio.wait_for(asyncio.gather(*(w.communicate() for w in workers)), 60)
        finally:
            for worker in workers:
                if worker.returncode is None:
                    worker.kill()
                    await worker.wait()
        for worker, (_, err) in zip(workers, outputs, strict=True):
            assert worker.returncode == 0, err.decode()
        counts = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]

        assert [c["requests"] for c in counts] == [300, 300]
        for reminder in ("usage", "disclose", "reality", "dependence"):
            assert sum(c[reminder] for c in counts) == 1, (reminder, counts)
        state = await seeder.snapshot(SCOPE)
        assert state is not None and state.usage_reminders == 1 and state.last_seen == max(stamps)
    finally:
        await seeder.aclose()
        client = aioredis.Redis.from_url(url)
        await client.delete(prefix + SCOPE)
        await client.aclose()
