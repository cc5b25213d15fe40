"""Open the session-state store a deployment config names (``state.url``)."""

from __future__ import annotations

from urllib.parse import urlsplit

from adapters.state.memory import MemoryStateStore
from adapters.state.redis_store import RedisStateStore
from middleware.state import DEFAULT_TTL, StateStore, StateStoreError


async def open_state_store(url: str, *, key_prefix: str = "candor:state:",
                           ttl: float = DEFAULT_TTL) -> StateStore:
    """``memory://`` (one worker) or ``redis://[:password@]host:6379/0`` / ``rediss://...`` (shared).

    A Redis store is pinged before it is returned, so a wrong URL fails at start-up, not on the first
    request. Raises :class:`StateStoreError` with what to fix."""
    scheme = urlsplit(url).scheme.lower()
    if scheme == "memory":
        return MemoryStateStore(ttl=ttl)
    if scheme in ("redis", "rediss", "unix"):
        store = RedisStateStore.from_url(url, key_prefix=key_prefix, ttl=ttl)
        if not await store.ping():
            await store.aclose()
            raise StateStoreError(
                f"session state store {_redacted(url)} is not reachable: start Redis there, or correct "
                "state.url (CANDOR_STATE_URL) in the deployment config")
        return store
    raise StateStoreError(
        f"unknown session state store {_redacted(url)!r}: use memory:// (one worker) or "
        "redis://host:6379/0 (several workers or replicas)")


def _redacted(url: str) -> str:
    # a Redis URL may carry a password; never echo it into logs
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()
