"""The config file's polled watch: a write, a replacement (new inode) and a removal are changes; nothing
else is, and writes beside the file (the audit database) are not seen at all."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from adapters.server import file_poll


async def _next(path: Path, stop: asyncio.Event, since: file_poll.Signature
                ) -> file_poll.Signature:
    gen = file_poll.changes(path, stop, since, interval=0.02, settle=0.05)
    try:
        return await asyncio.wait_for(gen.__anext__(), 3.0)
    finally:
        await gen.aclose()


async def test_a_write_is_a_change(tmp_path: Path) -> None:
    f = tmp_path / "candor.yaml"
    f.write_text("a: 1\n")
    since = file_poll.signature(f)
    stop = asyncio.Event()
    task = asyncio.create_task(_next(f, stop, since))
    await asyncio.sleep(0.05)
    f.write_text("a: 22\n")
    sig = await task
    assert sig == file_poll.signature(f) and sig != since


async def test_a_change_before_the_watch_started_still_counts(tmp_path: Path) -> None:
    f = tmp_path / "candor.yaml"
    f.write_text("a: 1\n")
    since = file_poll.signature(f)
    f.write_text("a: 2 and longer\n")
    assert await _next(f, asyncio.Event(), since) == file_poll.signature(f)


async def test_an_editor_replacing_the_file_is_a_change(tmp_path: Path) -> None:
    f = tmp_path / "candor.yaml"
    f.write_text("a: 1\n")
    st = os.stat(f)
    since = file_poll.signature(f)
    tmp = tmp_path / ".candor.yaml.swp"
    tmp.write_text("a: 1\n")   # same size; same mtime forced below: only the inode differs
    os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(tmp, f)
    sig = await _next(f, asyncio.Event(), since)
    assert sig is not None and since is not None and sig[0] != since[0]


async def test_writes_beside_the_file_and_no_change_yield_nothing(tmp_path: Path) -> None:
    f = tmp_path / "candor.yaml"
    f.write_text("a: 1\n")
    since = file_poll.signature(f)
    stop = asyncio.Event()
    seen: list[file_poll.Signature] = []

    async def watch() -> None:
        async for sig in file_poll.changes(f, stop, since, interval=0.01, settle=0.02):
            seen.append(sig)

    task = asyncio.create_task(watch())
    for i in range(20):
        (tmp_path / "audit.db").write_bytes(b"x" * i)
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 2)
    assert seen == []


async def test_a_removed_file_is_a_change_and_stop_ends_the_watch(tmp_path: Path) -> None:
    f = tmp_path / "candor.yaml"
    f.write_text("a: 1\n")
    since = file_poll.signature(f)
    f.unlink()
    assert await _next(f, asyncio.Event(), since) is None
    stop = asyncio.Event()
    stop.set()
    assert [s async for s in file_poll.changes(f, stop, None)] == []
