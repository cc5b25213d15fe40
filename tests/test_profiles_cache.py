"""The profile read cache on its own (middleware/profiles/cache.py): served from memory inside its
freshness window, refreshed after it, and a store outage is a 503, never "no profile"."""

from __future__ import annotations

import pytest

from middleware.http.errors import CandorError
from middleware.profiles.cache import ProfileCache
from middleware.profiles.models import UserProfile
from middleware.profiles.store import ProfileStore
from middleware.testing import VirtualClock

pytest_plugins = ["tests.test_profiles_support"]  # the shared store fixtures (SQLite and PostgreSQL)


async def test_reads_are_cached_within_the_window_and_refreshed_after(store: ProfileStore) -> None:
    clock = VirtualClock()
    cache = ProfileCache(store, ttl=0.5, clock=clock)
    assert await cache.get("bob") is None
    await store.update("bob", lambda old: UserProfile(age_band="minor"))
    assert await cache.get("bob") is None, "inside the window the cached answer stands"
    clock.advance(0.6)
    found = await cache.get("bob")
    assert found is not None and found.age_band == "minor"


async def test_an_unreachable_store_is_a_503(store: ProfileStore) -> None:
    clock = VirtualClock()
    cache = ProfileCache(store, ttl=0.5, clock=clock)
    await store.close()
    clock.advance(1.0)
    with pytest.raises(CandorError) as caught:
        await cache.get("bob")
    assert caught.value.status == 503
