"""How a registry service reports a committed change: a bus notice to the other replicas, then the
audit hook.

The notice is best effort (the other replicas also see the change through their revision poll). The
audit hook is not: the change already stands, so a hook that fails turns into a 503 telling the
operator that the change was saved but not audited (the hook should spool durably rather than fail).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from middleware.http.errors import CandorError

R = TypeVar("R")


class Publisher(Protocol):
    async def publish(self, message: str) -> None: ...


async def publish_quietly(bus: Publisher | None, message: str, *, log: Any, event: str) -> None:
    """Announce on ``bus`` (if any); a failure is logged as ``event``, never raised."""
    if bus is None:
        return
    try:
        await bus.publish(message)
    except Exception as exc:  # other replicas still see it through their revision poll
        log.warning(event, error=repr(exc))


async def audit_change(on_change: Callable[[R], Awaitable[None]] | None, record: R, *, what: str, log: Any,
                       event: str, **fields: Any) -> None:
    """``on_change(record)``; any failure other than a CandorError becomes a 503 saying ``what`` was
    saved but not audited (logged as ``event`` with ``fields``)."""
    if on_change is None:
        return
    try:
        await on_change(record)
    except CandorError:
        raise
    except Exception as exc:
        log.error(event, **fields, error=repr(exc))
        raise CandorError(503, "audit_unavailable",
                          f"{what} was saved, but its audit event could not be written ({type(exc).__name__}); "
                          "check the audit store") from exc
