"""The persona gate when the database is down (issue 14): a fail-open policy (``stale_ok``) decides on
the cached persona state however old; a persona never read, or a fail-closed policy, still gets 503."""

from __future__ import annotations

from typing import Any

import pytest

from middleware.http.errors import CandorError
from middleware.likeness.enforce import LikenessGate
from middleware.likeness.service import LikenessService
from middleware.likeness.store import LikenessStore
from tests.test_likeness_support import T0, Clock, persona

pytest_plugins = ["tests.test_likeness_support"]


class GoneStore:
    """The real store until ``down``; then every read fails like a lost database."""

    def __init__(self, inner: LikenessStore) -> None:
        self.inner = inner
        self.down = False

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            if self.down:
                raise ConnectionRefusedError(111, "Connection refused")
            return await attr(*args, **kwargs)

        return call


async def test_cached_persona_state_is_used_while_the_store_is_down(store: LikenessStore,
                                                                     service: LikenessService) -> None:
    await service.add_persona(persona(subject=None), actor="t")
    await service.add_persona(persona("never-read", subject=None), actor="t")
    clock = Clock(0.0)
    gone = GoneStore(store)
    gate = LikenessGate(gone, clock=clock)  # type: ignore[arg-type]
    assert (await gate.check("lin", T0)).persona is not None   # read once: cached
    gone.down = True
    clock.now += 10.0   # long past the freshness window
    with pytest.raises(CandorError) as closed:
        await gate.check("lin", T0)
    assert closed.value.status == 503
    clock.now += 10.0
    assert (await gate.check("lin", T0, stale_ok=True)).persona is not None
    with pytest.raises(CandorError) as unknown:
        await gate.check("never-read", T0, stale_ok=True)
    assert unknown.value.status == 503
