"""The per-request decision: may this request speak as this persona? (DVH-CONSENT-1/2, DVH-LIKENESS-1)

``LikenessGate.check`` answers from an in-process cache (a few microseconds), so it costs nothing
on the hot path. Freshness, so that a revocation stops a persona on every replica within a second:

- every gate polls the store's ``revision`` counter at most every ``ttl`` seconds (default 0.5 s)
  and drops its cache when it moved: a second process sharing only the database sees a change within
  ``ttl`` plus one query;
- with a change bus (Redis pub/sub when ``state.url`` is ``redis://``) the cache is dropped as soon
  as the message arrives, typically within milliseconds;
- changes made through this process's ``LikenessService`` invalidate its gate directly.

Consent windows are evaluated at every check against the caller's ``now``, so expiry needs no
invalidation and is exact (``valid_from <= now < valid_until``).

Running streams: ``subscribe(persona_id)`` returns a ``PersonaWatch`` whose ``event`` is set (and
``error`` filled with the CandorError a new request would get) as soon as the persona becomes
unusable: disabled, consent revoked or expired, persona gone. The background task started by
``start()`` re-checks watched personas after every invalidation and every ``ttl / 2``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import structlog

from middleware.freshness import Freshness, stop_tasks
from middleware.http.errors import CandorError
from middleware.likeness.models import Consent, Kind, Persona, from_ts
from middleware.likeness.store import ChangeBus, GateState, LikenessStore

log = structlog.get_logger("candor.likeness")


@dataclass(frozen=True, slots=True)
class GateResult:
    """A persona the request may use (None when the request names no persona)."""

    persona: Persona | None
    consent_ids: tuple[str, ...] = ()  # the consents relied on, for the audit decision
    valid_until: float | None = None  # earliest end of those consents (epoch seconds), None: open-ended


@dataclass(eq=False, slots=True)
class PersonaWatch:
    persona_id: str
    event: asyncio.Event = field(default_factory=asyncio.Event)
    error: CandorError | None = None


@dataclass(frozen=True, slots=True)
class Grant:
    """A consent reduced to what the hot path compares."""

    id: str
    start: float
    end: float | None
    scopes: frozenset[str]

    @classmethod
    def of(cls, consent: Consent) -> Grant:
        until = consent.valid_until.timestamp() if consent.valid_until else None
        return cls(consent.id, consent.valid_from.timestamp(), until, frozenset(consent.scopes))


def coverage(kinds: Iterable[Kind], grants: Iterable[Grant], now: float) -> tuple[list[Grant], list[Kind]]:
    """The grants active at ``now`` that cover ``kinds`` (first match each), and the kinds left uncovered."""
    active = [g for g in grants if g.start <= now and (g.end is None or now < g.end)]
    used: list[Grant] = []
    missing: list[Kind] = []
    for kind in kinds:
        grant = next((g for g in active if kind in g.scopes), None)
        if grant is None:
            missing.append(kind)
        elif grant not in used:
            used.append(grant)
    return used, missing


@dataclass(slots=True)
class _Entry:
    persona: Persona | None
    grants: tuple[Grant, ...]
    plain: GateResult  # the answer when no consent is needed


def not_found(persona_id: str) -> CandorError:
    return CandorError(404, "persona_not_found",
                       f"persona {persona_id!r} is not registered: send the id of a registered persona in "
                       "X-Candor-Persona, or register it (POST /admin/personas, `candor persona add`)")


def disabled(persona_id: str) -> CandorError:
    return CandorError(403, "persona_disabled",
                       f"persona {persona_id!r} is disabled by the operator: use another persona, or ask the "
                       "operator to re-enable it (PATCH /admin/personas/{id} with enabled: true)")


def consent_required(persona: Persona, missing: list[Kind], now: float) -> CandorError:
    lk = persona.likeness
    assert lk is not None
    if lk.deceased:
        who = "their next of kin (granted_by: next_of_kin)"
    elif lk.subject().under_guardian_age(from_ts(now)):
        who = "their guardian (granted_by: guardian)"
    else:
        who = "the person themselves (granted_by: subject)"
    return CandorError(
        403, "likeness_consent_required",
        f"persona {persona.id!r} uses the {'/'.join(lk.kinds)} of a real person (subject {lk.subject_id!r}) "
        f"but has no active consent covering: {', '.join(missing)}. Record a consent from {who} with these "
        "scopes (POST /admin/consents, `candor consent add`) before using this persona "
        "(DVH-CONSENT-1, DVH-LIKENESS-1)")


def store_unavailable(exc: BaseException) -> CandorError:
    return CandorError(503, "audit_unavailable",
                       "the persona and consent registry (in the audit database) cannot be read, so the "
                       f"persona's consent cannot be verified: {type(exc).__name__}; retry shortly")


class LikenessGate:
    def __init__(self, store: LikenessStore, *, bus: ChangeBus | None = None, ttl: float = 0.5,
                 max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        if not 0 < ttl <= 1.0:
            raise ValueError("ttl must be in (0, 1] seconds: revocations must reach every replica within 1 s")
        self._store = store
        self._bus = bus
        self._ttl = ttl
        self._max = max_entries
        self._cache: dict[str, _Entry] = {}
        self._generation = 0
        self._revision: int | None = None
        self._freshness = Freshness(ttl, clock, unavailable=store_unavailable, log=log,
                                    event="likeness_store_unreachable", recent_failure="store recently failed")
        self._watches: dict[str, set[PersonaWatch]] = {}
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the background refresher (and the bus listener): keeps the hot path from ever
        waiting on the store, and ends watches promptly."""
        await self._poll()
        self._closing = False
        self._tasks.append(asyncio.create_task(self._refresher(), name="candor-likeness-refresh"))
        if self._bus is not None:
            self._tasks.append(asyncio.create_task(self._bus.listen(self.invalidate), name="candor-likeness-bus"))

    async def close(self) -> None:
        self._closing = True
        await stop_tasks(self._tasks)
        self._tasks.clear()

    # -- the decision ---------------------------------------------------------------------------

    async def check(self, persona_id: str | None, now: float | None = None, *,
                    require_consent: bool = True, stale_ok: bool = False,
                    kinds: Iterable[Kind] | None = None) -> GateResult:
        """The persona the request may speak as, or raise CandorError (404/403/503).

        ``require_consent`` comes from the policy (``likeness.require_consent``). ``stale_ok`` (a policy
        that fails open, ``audit.fail: open``): while the store is down, decide on the cached state,
        however old; a persona never read still gets the 503, since nothing can vouch for its consent.
        ``kinds`` narrows the consent needed to the likeness a request uses (an image needs ``face``,
        speech ``voice``); None: every kind the persona uses (chat)."""
        if persona_id is None:
            return _NO_PERSONA
        if now is None:
            now = time.time()
        if self._freshness.stale:
            try:
                await self._freshness.refresh(self._store.revision, self._on_revision)
            except CandorError:
                if not stale_ok or persona_id not in self._cache:
                    raise
        entry = self._cache.get(persona_id)
        if entry is None:
            entry = await self._load(persona_id)
        persona = entry.persona
        if persona is None:
            raise not_found(persona_id)
        if not persona.enabled:
            raise disabled(persona_id)
        if persona.likeness is None or not require_consent:
            return entry.plain
        wanted = persona.likeness.kinds if kinds is None else [k for k in persona.likeness.kinds if k in set(kinds)]
        used, missing = coverage(wanted, entry.grants, now)
        if missing:
            raise consent_required(persona, missing, now)
        ends = [g.end for g in used if g.end is not None]
        return GateResult(persona, tuple(g.id for g in used), min(ends) if ends else None)

    def invalidate(self) -> None:
        """Forget everything cached (called on local changes and bus messages)."""
        self._cache.clear()
        self._generation += 1
        self._wake.set()

    # -- running streams ------------------------------------------------------------------------

    def subscribe(self, persona_id: str) -> PersonaWatch:
        """Be told when ``persona_id`` becomes unusable. Needs ``start()``; call ``unsubscribe`` after."""
        watch = PersonaWatch(persona_id)
        self._watches.setdefault(persona_id, set()).add(watch)
        return watch

    def unsubscribe(self, watch: PersonaWatch) -> None:
        group = self._watches.get(watch.persona_id)
        if group is not None:
            group.discard(watch)
            if not group:
                del self._watches[watch.persona_id]

    async def check_watches(self, now: float | None = None) -> None:
        """Fire the watches of personas no longer usable (the refresher calls this)."""
        for persona_id in list(self._watches):
            try:
                await self.check(persona_id, now)
            except CandorError as exc:
                if exc.status >= 500:
                    continue  # a store outage is not a revocation: streams keep running
                for watch in self._watches.pop(persona_id, ()):
                    watch.error = exc
                    watch.event.set()

    # -- cache maintenance ----------------------------------------------------------------------

    async def _poll(self) -> None:
        await self._freshness.poll(self._store.revision, self._on_revision)

    def _on_revision(self, revision: int) -> None:
        if revision != self._revision:
            if self._revision is not None:
                self.invalidate()
            self._revision = revision

    async def _load(self, persona_id: str) -> _Entry:
        generation = self._generation
        try:
            state = await self._store.load_gate_state(persona_id)
        except Exception as exc:
            log.warning("likeness_store_unreachable", error=repr(exc))
            raise store_unavailable(exc) from exc
        entry = _entry(state)
        # an invalidation while loading means this state may predate the change: use it once, don't keep it
        if generation == self._generation:
            if len(self._cache) >= self._max:
                self._cache.clear()
            self._cache[persona_id] = entry
        return entry

    async def _refresher(self) -> None:
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel racing a wake-up
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._ttl / 2):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self._poll()
                await self.check_watches()
            except Exception as exc:  # keep refreshing through store outages
                log.warning("likeness_refresh_failed", error=repr(exc))


_NO_PERSONA = GateResult(None)


def _entry(state: GateState | None) -> _Entry:
    if state is None:
        return _Entry(None, (), _NO_PERSONA)
    return _Entry(state.persona, tuple(Grant.of(c) for c in state.consents), GateResult(state.persona))
