"""The per-request decision: answers, expiry to the second, revocation reaching other replicas in < 1 s."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from adapters.wiring.likeness import RedisLikenessBus
from middleware.http.errors import CandorError
from middleware.likeness.enforce import GateResult, LikenessGate
from middleware.likeness.service import LikenessService
from middleware.likeness.store import LikenessStore
from tests.services import require_redis
from tests.test_likeness_support import T0, Clock, StoreFactory, consent, persona

pytest_plugins = ["tests.test_likeness_support"]  # the shared store/service fixtures


@pytest.fixture
async def gate(store: LikenessStore, service: LikenessService) -> AsyncIterator[LikenessGate]:
    g = LikenessGate(store)
    service.add_listener(g.invalidate)
    yield g
    await g.close()


async def refused(gate: LikenessGate, persona_id: str, now: float = T0 + 1) -> CandorError:
    with pytest.raises(CandorError) as err:
        await gate.check(persona_id, now)
    return err.value


async def test_unknown_persona_is_404(gate: LikenessGate) -> None:
    err = await refused(gate, "ghost")
    assert (err.status, err.code) == (404, "persona_not_found") and "'ghost'" in err.message


async def test_no_persona_named_passes(gate: LikenessGate) -> None:
    assert await gate.check(None, T0) == GateResult(None)


async def test_disabled_persona_is_403(gate: LikenessGate, service: LikenessService) -> None:
    await service.add_persona(persona(subject=None), actor="t")
    assert (await gate.check("lin", T0)).persona is not None
    await service.disable_persona("lin", actor="t")
    err = await refused(gate, "lin")
    assert (err.status, err.code) == (403, "persona_disabled")


async def test_likeness_without_consent_names_persona_and_scopes(gate: LikenessGate, service: LikenessService) -> None:
    await service.add_persona(persona(kinds=("face", "voice")), actor="t")
    err = await refused(gate, "lin")
    assert (err.status, err.code) == (403, "likeness_consent_required")
    assert "'lin'" in err.message and "covering: face, voice" in err.message
    assert err.body()["error"]["type"] == "permission_error"


async def test_partial_consent_names_only_the_missing_scope(gate: LikenessGate, service: LikenessService) -> None:
    await service.add_persona(persona(kinds=("face", "voice", "name")), actor="t")
    await service.add_consent(consent(scopes=("face",)), actor="t")
    await service.add_consent(consent(scopes=("name",)), actor="t")
    err = await refused(gate, "lin")
    assert "covering: voice." in err.message


async def test_full_consent_passes_and_reports_the_consents_used(gate: LikenessGate,
                                                                  service: LikenessService) -> None:
    await service.add_persona(persona(kinds=("face", "voice")), actor="t")
    face = await service.add_consent(consent(id="cf", scopes=("face",), valid_until="2026-04-01T00:00:00Z"),
                                     actor="t")
    await service.add_consent(consent(id="cv", scopes=("voice", "name")), actor="t")
    result = await gate.check("lin", T0 + 1)
    assert result.persona is not None and result.persona.id == "lin"
    assert result.consent_ids == ("cf", "cv")
    assert face.valid_until is not None and result.valid_until == face.valid_until.timestamp()


async def test_policy_without_consent_requirement_skips_the_check(gate: LikenessGate,
                                                                  service: LikenessService) -> None:
    await service.add_persona(persona(), actor="t")
    assert (await gate.check("lin", T0, require_consent=False)).persona is not None


async def test_persona_without_likeness_needs_no_consent(gate: LikenessGate, service: LikenessService) -> None:
    await service.add_persona(persona(subject=None), actor="t")
    assert (await gate.check("lin", T0)).consent_ids == ()


async def test_expiry_and_start_are_honoured_to_the_second(gate: LikenessGate, service: LikenessService) -> None:
    await service.add_persona(persona(kinds=("face",)), actor="t")
    start, end = T0 + 100, T0 + 200  # 02:01:40 .. 02:03:20 UTC
    await service.add_consent(consent(scopes=("face",), valid_from="2026-03-02T02:01:40Z",
                                      valid_until="2026-03-02T02:03:20Z"), actor="t")
    await refused(gate, "lin", start - 0.001)
    assert (await gate.check("lin", start)).persona is not None
    assert (await gate.check("lin", end - 0.001)).persona is not None
    err = await refused(gate, "lin", end)
    assert err.code == "likeness_consent_required"


async def test_local_revocation_takes_effect_immediately(gate: LikenessGate, service: LikenessService) -> None:
    await service.add_persona(persona(kinds=("face",)), actor="t")
    c = await service.add_consent(consent(scopes=("face",)), actor="t")
    assert (await gate.check("lin", T0 + 1)).persona is not None
    await service.revoke_consent(c.id, actor="t")
    await refused(gate, "lin")


async def test_revocation_reaches_a_second_process_within_one_second(new_store: StoreFactory) -> None:
    """Replica B shares only the database with A (its own connection and cache, no bus)."""
    svc_a = LikenessService(await new_store())
    gate_b = LikenessGate(await new_store(), ttl=0.5)
    await svc_a.add_persona(persona(kinds=("face",)), actor="t")
    c = await svc_a.add_consent(consent(scopes=("face",)), actor="t")
    assert (await gate_b.check("lin")).persona is not None  # B's cache is warm now
    await svc_a.revoke_consent(c.id, actor="t")
    revoked_at = time.monotonic()
    while True:
        asked = time.monotonic()
        try:
            await gate_b.check("lin")
        except CandorError as err:
            assert err.code == "likeness_consent_required"
            break
        # timed from when the check starts: a slow query on a busy machine only makes a later check
        assert asked - revoked_at < 1.0, "replica B still served the persona after 1 s"
        await asyncio.sleep(0.01)
    # and the new consent is seen just as fast
    await svc_a.add_consent(consent(scopes=("face",)), actor="t")
    await asyncio.sleep(0.6)
    assert (await gate_b.check("lin")).persona is not None


async def test_redis_pubsub_invalidates_without_waiting_for_the_poll(new_store: StoreFactory) -> None:
    url = require_redis()
    channel = f"candor:likeness:test:{uuid.uuid4().hex}"
    bus_a, bus_b = RedisLikenessBus(url, channel), RedisLikenessBus(url, channel)
    frozen = Clock(0.0)  # B's poll clock never advances: only the bus can tell it anything
    svc_a = LikenessService(await new_store(), bus=bus_a)
    gate_b = LikenessGate(await new_store(), bus=bus_b, ttl=1.0, clock=frozen)
    listener = asyncio.create_task(bus_b.listen(gate_b.invalidate))
    probe = aioredis.from_url(url)
    try:
        await svc_a.add_persona(persona(kinds=("face",)), actor="t")
        c = await svc_a.add_consent(consent(scopes=("face",)), actor="t")
        while (await probe.pubsub_numsub(channel))[0][1] < 1:  # noqa: ASYNC110 (wait for B's subscription)
            await asyncio.sleep(0.005)
        assert (await gate_b.check("lin")).persona is not None
        await svc_a.revoke_consent(c.id, actor="t")
        revoked_at = time.monotonic()
        while True:
            try:
                await gate_b.check("lin")
            except CandorError:
                break
            # B's poll clock is frozen, so any bound proves the message did it; a generous one leaves room
            # for a busy machine (another test process on the same cores)
            assert time.monotonic() - revoked_at < 10.0, "the Redis message did not invalidate B"
            await asyncio.sleep(0.005)
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
        await bus_a.close()
        await bus_b.close()
        await probe.aclose()


async def test_running_streams_are_told_when_consent_goes(new_store: StoreFactory) -> None:
    svc_a = LikenessService(await new_store())
    gate_b = LikenessGate(await new_store(), ttl=0.3)
    await gate_b.start()
    try:
        await svc_a.add_persona(persona(kinds=("face",)), actor="t")
        await svc_a.add_persona(persona("other", subject=None), actor="t")
        c = await svc_a.add_consent(consent(scopes=("face",)), actor="t")
        await svc_a.add_consent(consent(scopes=("face",), valid_until=_iso(time.time() + 0.4)), actor="t")
        watch, other = gate_b.subscribe("lin"), gate_b.subscribe("other")
        await svc_a.revoke_consent(c.id, actor="t")
        # the short consent still covers "lin" until it expires; then the watch must fire
        await asyncio.wait_for(watch.event.wait(), 15)   # due within ~1 s; generous for a busy machine
        assert watch.error is not None and watch.error.code == "likeness_consent_required"
        await svc_a.disable_persona("other", actor="t")
        await asyncio.wait_for(other.event.wait(), 15)
        assert other.error is not None and other.error.code == "persona_disabled"
        gate_b.unsubscribe(watch)
    finally:
        await gate_b.close()


async def test_unreadable_store_fails_closed_with_503(store: LikenessStore, service: LikenessService) -> None:
    await service.add_persona(persona(subject=None), actor="t")
    gate = LikenessGate(store, ttl=0.05)
    await gate.check("lin")
    await store.close()
    await asyncio.sleep(0.06)
    with pytest.raises(CandorError) as err:
        await gate.check("lin")
    assert (err.value.status, err.value.code) == (503, "audit_unavailable")


async def test_ttl_above_one_second_is_refused(store: LikenessStore) -> None:
    with pytest.raises(ValueError, match="within 1 s"):
        LikenessGate(store, ttl=2)


async def test_warm_check_costs_well_under_100_microseconds(gate: LikenessGate, service: LikenessService) -> None:
    await service.add_persona(persona(kinds=("face", "voice", "name")), actor="t")
    await service.add_consent(consent(scopes=("face", "voice", "name")), actor="t")
    now = time.time()
    await gate.check("lin", now)
    samples = []
    for _ in range(2000):
        t = time.perf_counter()
        await gate.check("lin", now)
        samples.append(time.perf_counter() - t)
    assert statistics.median(samples) < 100e-6


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1e6):06d}Z"
