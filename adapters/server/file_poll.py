"""A change watch on one file by polling its ``stat``: (inode, size, mtime) looked at every ``interval``.

Used for ``candor.yaml``, whose directory often holds the audit database too: an inotify watch on that
directory woke its thread on every write to the database (two per page of every commit), ~10 % of the
proxy's CPU under load (bench/ANALYSIS.md). A poll costs one ``stat`` per interval whatever is written
beside the file, sees editors that replace the file (a new inode), and works where inotify does not
(network mounts, some containers)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

Signature = tuple[int, int, int] | None


def signature(path: Path) -> Signature:
    """What a change alters: inode (a replaced file), size and modification time; None when absent."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep ``seconds``; True when ``stop`` was set meanwhile."""
    # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel that lands as the wait ends
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await stop.wait()
    return stop.is_set()


async def changes(path: Path, stop: asyncio.Event, since: Signature, *, interval: float = 0.25,
                  settle: float = 0.3) -> AsyncIterator[Signature]:
    """Yield each time ``path`` differs from what it was (``since``: its signature when it was read), once it
    has stayed the same for ``settle`` seconds (an editor's save in several writes is one change)."""
    seen = since
    while not await _sleep_or_stop(stop, interval):
        now = signature(path)
        if now == seen:
            continue
        while not await _sleep_or_stop(stop, settle):
            later = signature(path)
            if later == now:
                break
            now = later
        if stop.is_set():
            return
        seen = now
        yield now
