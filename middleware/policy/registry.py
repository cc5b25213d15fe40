"""The running set of policies, reloaded live.

All resolved policies live in ONE immutable mapping; a reload builds a complete new mapping and swaps the
reference in a single assignment. A request takes the mapping (or one policy) once and keeps it, so it sees
the old set or the new one, never a mix. A reload that finds any problem swaps nothing: the running
policies stay, the problems are logged and returned, ``candor_policy_reloads_total{result="rejected"}``
counts it. Each worker process runs its own watcher on the same directories, so all converge within the
watcher's debounce (well under 5 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import signal
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import structlog
from prometheus_client import Counter

from middleware.config.deployment import CandorConfig
from middleware.config.yamlfile import FileProblems, Problem
from middleware.policy.loader import PACK_SUFFIXES, load_policy_dirs
from middleware.policy.model import Policy

log = structlog.get_logger("candor.policy")

RELOADS = Counter("candor_policy_reloads_total", "Policy reloads by outcome", ["result"])

ReloadOutcome = Literal["applied", "rejected", "unchanged"]


def builtin_packs_dir() -> Path:
    """The shipped ``policies/`` directory: ``middleware/_packs`` in an installed wheel, the repository's
    ``policies/`` in a checkout."""
    import middleware

    package = Path(middleware.__file__).resolve().parent
    for candidate in (package / "_packs", package.parent / "policies"):
        if candidate.is_dir():
            return candidate
    return package.parent / "policies"


def policy_dirs(config: CandorConfig) -> list[Path]:
    """Built-in packs first, then the operator's ``policies_dir`` (whose files override by id)."""
    return [builtin_packs_dir(), config.resolve_path(config.policies_dir)]


class UnknownPolicyError(KeyError):
    """A policy id that is not loaded; the message lists the ids that are."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown policy"


@dataclass(frozen=True, slots=True)
class ReloadResult:
    """What a reload did; passed to listeners (the audit log's ``policy_reload`` event)."""

    result: ReloadOutcome
    trigger: str
    problems: tuple[Problem, ...] = ()
    versions: Mapping[str, str] = field(default_factory=dict)   # id -> version running after the reload
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()

    def summary(self) -> str:
        if self.result == "rejected":
            return f"policy reload rejected ({len(self.problems)} problem(s)); the running policies stay"
        if self.result == "unchanged":
            return "policy reload: nothing changed"
        parts = [f"{name}: {', '.join(ids)}" for name, ids in
                 (("added", self.added), ("removed", self.removed), ("changed", self.changed)) if ids]
        return "policy reload applied (" + ("; ".join(parts) or "no id changed") + ")"


Listener = Callable[[ReloadResult], "Awaitable[None] | None"]


class PolicyRegistry:
    """Resolved policies by id, swapped atomically on reload."""

    def __init__(self, dirs: Sequence[Path], policies: Mapping[str, Policy]) -> None:
        self.dirs = _unique_dirs(dirs)
        self._policies: Mapping[str, Policy] = MappingProxyType(dict(policies))
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    def load(cls, dirs: Sequence[Path]) -> PolicyRegistry:
        """Load every policy in ``dirs`` (built-in packs first); raise :class:`FileProblems` on any error."""
        unique = _unique_dirs(dirs)
        return cls(unique, load_policy_dirs(unique))

    @classmethod
    def from_config(cls, config: CandorConfig) -> PolicyRegistry:
        """The built-in packs plus the config's ``policies_dir``, checked against every app's policy."""
        registry = cls.load(policy_dirs(config))
        registry.require([app.policy for app in config.apps])
        return registry

    # reading: one reference, taken once
    def snapshot(self) -> Mapping[str, Policy]:
        """The current immutable mapping; hold it for a whole request to see one consistent set."""
        return self._policies

    def get(self, policy_id: str) -> Policy:
        policies = self._policies
        try:
            return policies[policy_id]
        except KeyError:
            raise UnknownPolicyError(f"no policy {policy_id!r} is loaded; available: "
                                     f"{', '.join(sorted(policies)) or 'none'}") from None

    def ids(self) -> list[str]:
        return sorted(self._policies)

    def require(self, ids: Iterable[str]) -> None:
        """Fail (start-up) when an app names a policy that is not loaded."""
        policies = self._policies
        missing = sorted({pid for pid in ids if pid not in policies})
        if missing:
            where = ", ".join(str(d) for d in self.dirs)
            raise UnknownPolicyError(
                f"candor.yaml names policy {', '.join(repr(m) for m in missing)}, which is not in the policy "
                f"directories ({where}); available: {', '.join(sorted(policies)) or 'none'}. Fix the app's "
                f"`policy:` or add <id>.yaml to policies_dir")

    # reloading
    def on_reload(self, listener: Listener) -> Listener:
        """Register ``listener(result)`` (plain or async), called after every reload; usable as decorator."""
        self._listeners.append(listener)
        return listener

    def reload(self, trigger: str = "manual") -> ReloadResult:
        """Validate everything and swap atomically, or keep the running set; then call the listeners."""
        result = self._reload_now(trigger)
        for listener in self._listeners:
            try:
                outcome = listener(result)
                if inspect.isawaitable(outcome):
                    self._schedule(outcome)
            except Exception:
                log.exception("policy_reload_listener_failed", listener=repr(listener))
        return result

    async def areload(self, trigger: str = "manual") -> ReloadResult:
        """:meth:`reload` with file reading and validation off the event loop, so requests in flight are
        not held up; async listeners are awaited."""
        result = await asyncio.to_thread(self._reload_now, trigger)
        for listener in self._listeners:
            try:
                outcome = listener(result)
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception:
                log.exception("policy_reload_listener_failed", listener=repr(listener))
        return result

    def _reload_now(self, trigger: str) -> ReloadResult:
        with self._lock:
            old = self._policies
            try:
                fresh = load_policy_dirs(self.dirs)
            except FileProblems as exc:
                result = ReloadResult("rejected", trigger, tuple(exc.problems),
                                      {pid: p.version for pid, p in old.items()})
                RELOADS.labels(result="rejected").inc()
                log.error("policy_reload", result="rejected", trigger=trigger,
                          problems=[str(p) for p in exc.problems])
                return result
            versions = {pid: p.version for pid, p in fresh.items()}
            before = {pid: p.version for pid, p in old.items()}
            added = tuple(sorted(set(versions) - set(before)))
            removed = tuple(sorted(set(before) - set(versions)))
            changed = tuple(sorted(pid for pid in versions if pid in before and before[pid] != versions[pid]))
            if not (added or removed or changed):
                RELOADS.labels(result="unchanged").inc()
                log.info("policy_reload", result="unchanged", trigger=trigger)
                return ReloadResult("unchanged", trigger, (), versions)
            self._policies = MappingProxyType(fresh)   # the one atomic swap
            RELOADS.labels(result="applied").inc()
            result = ReloadResult("applied", trigger, (), versions, added, removed, changed)
            log.info("policy_reload", result="applied", trigger=trigger, added=added, removed=removed,
                     changed=changed, versions={pid: versions[pid] for pid in (*added, *changed)})
            return result

    def _schedule(self, awaitable: Awaitable[None]) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            # no loop in this thread (sync caller): run it to completion here
            asyncio.run(_await(awaitable))
            return
        task = loop.create_task(_await(awaitable))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def watch(self, stop: asyncio.Event, *, debounce_ms: int = 300, force_polling: bool | None = None,
                    ) -> None:
        """Reload whenever a policy file in the directories changes, until ``stop`` is set."""
        from watchfiles import awatch

        dirs = [d for d in self.dirs if d.is_dir()]
        if not dirs:
            await stop.wait()
            return
        watched = {d.resolve() for d in dirs}

        def is_policy_file(_change: object, path: str) -> bool:
            p = Path(path)
            return p.suffix in PACK_SUFFIXES and p.parent.resolve() in watched

        polling = force_polling
        while not stop.is_set():
            try:
                changes = awatch(*dirs, watch_filter=is_policy_file, debounce=debounce_ms, step=50,
                                 stop_event=stop, recursive=False, force_polling=polling)
                async for _batch in changes:
                    await self.areload("watch")
                return
            except (OSError, RuntimeError) as exc:
                if polling:
                    raise
                # inotify unavailable or exhausted (containers, network filesystems): poll instead
                log.warning("policy_watch_fallback_to_polling", error=str(exc))
                polling = True

    def install_sighup(self, loop: asyncio.AbstractEventLoop | None = None) -> bool:
        """Reload on SIGHUP (``kill -HUP <pid>``); False where the platform has no SIGHUP."""
        if not hasattr(signal, "SIGHUP"):
            return False
        target = loop or asyncio.get_running_loop()

        def on_signal() -> None:
            task = target.create_task(_await(self.areload("sighup")))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        target.add_signal_handler(signal.SIGHUP, on_signal)
        return True

    def remove_sighup(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        if hasattr(signal, "SIGHUP"):
            with contextlib.suppress(RuntimeError, ValueError):
                (loop or asyncio.get_running_loop()).remove_signal_handler(signal.SIGHUP)


async def _await(awaitable: Awaitable[object]) -> None:
    try:
        await awaitable
    except Exception:
        log.exception("policy_reload_task_failed")


def _unique_dirs(dirs: Sequence[Path]) -> list[Path]:
    out: list[Path] = []
    seen: set[Path] = set()
    for d in dirs:
        key = Path(d).resolve()
        if key not in seen:
            seen.add(key)
            out.append(Path(d))
    return out
