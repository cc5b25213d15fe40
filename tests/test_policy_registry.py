"""The running policy set: atomic swaps, rejected edits, live reload by file watch and SIGHUP."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from middleware.config.deployment import AppConfig, CandorConfig
from middleware.policy.registry import PolicyRegistry, ReloadResult, UnknownPolicyError, builtin_packs_dir

PACKS = builtin_packs_dir()


def pair_policy(pid: str, n: int) -> str:
    # remind_every and the notice change together: a reader seeing a mix would see them disagree
    return (f"id: {pid}\ntitle: generation {n}\nlocale: en\nusage:\n  continuous_idle_reset: 30m\n"
            f"  remind_every: {n + 31}m\n  notice: 'generation {n}'\n  cites: [ANTH-TIME-1]\n")


def write_pair(d: Path, n: int) -> None:
    for pid in ("alpha", "beta"):
        (d / f"{pid}.yaml").write_text(pair_policy(pid, n), encoding="utf-8")


def generation(policy) -> int:
    n = int(policy.title.split()[-1])
    assert policy.usage.remind_every == (n + 31) * 60
    assert policy.text(policy.usage.notice) == f"generation {n}"
    return n


def reloads(result: str) -> float:
    return REGISTRY.get_sample_value("candor_policy_reloads_total", {"result": result}) or 0.0


def test_load_merges_builtin_and_operator_dirs_with_operator_override(tmp_path):
    src = (PACKS / "us-ny-art47.yaml").read_text(encoding="utf-8")
    (tmp_path / "us-ny-art47.yaml").write_text(src.replace("every: 3h", "every: 2h"), encoding="utf-8")
    write_pair(tmp_path, 0)
    reg = PolicyRegistry.load([PACKS, tmp_path])
    assert {"alpha", "beta", "cn-anthropomorphic-2026", "us-ny-art47"} <= set(reg.ids())
    assert reg.get("us-ny-art47").disclosure.every == 7200


def test_get_and_require_name_the_available_policies(tmp_path):
    write_pair(tmp_path, 0)
    reg = PolicyRegistry.load([tmp_path])
    with pytest.raises(KeyError) as info:
        reg.get("gamma")
    assert "no policy 'gamma' is loaded; available: alpha, beta" in str(info.value)
    reg.require(["alpha"])
    with pytest.raises(UnknownPolicyError, match=r"'gamma'.*available: alpha, beta"):
        reg.require(["alpha", "gamma"])


def test_from_config_fails_at_start_up_for_an_app_naming_a_missing_policy(tmp_path):
    cfg = CandorConfig(policies_dir=str(tmp_path),
                       apps=[AppConfig(id="a", key_sha256="0" * 64, policy="cn-anthropomorphic-2062")])
    with pytest.raises(UnknownPolicyError, match="cn-anthropomorphic-2062"):
        PolicyRegistry.from_config(cfg)


def test_reload_swaps_atomically_under_concurrent_readers(tmp_path):
    write_pair(tmp_path, 0)
    reg = PolicyRegistry.load([tmp_path])
    stop = threading.Event()
    seen: set[int] = set()
    errors: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            snapshot = reg.snapshot()           # one reference for a whole "request"
            a, b = generation(snapshot["alpha"]), generation(snapshot["beta"])
            if a != b:
                errors.append(f"mixed snapshot: alpha {a}, beta {b}")
            seen.add(generation(reg.get("alpha")))
            time.sleep(0)                       # let the writer in: readers would otherwise hog the GIL

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for n in range(1, 16):
            write_pair(tmp_path, n)
            assert reg.reload().result == "applied"
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors[:3]
    assert generation(reg.get("alpha")) == 15 and len(seen) > 1


def test_a_rejected_edit_keeps_the_running_policy_and_counts(tmp_path):
    write_pair(tmp_path, 1)
    reg = PolicyRegistry.load([tmp_path])
    results: list[ReloadResult] = []
    reg.on_reload(results.append)
    before = reg.get("alpha")
    rejected = reloads("rejected")
    (tmp_path / "alpha.yaml").write_text(pair_policy("alpha", 2).replace("remind_every: 33m", "remind_every: 20m"),
                                         encoding="utf-8")
    result = reg.reload()
    assert result.result == "rejected" and reloads("rejected") == rejected + 1
    assert reg.get("alpha") is before
    assert any(p.key == "usage.remind_every" and p.file.endswith("alpha.yaml") for p in result.problems)
    assert results == [result]
    # beta was valid, but a bad edit anywhere keeps the whole running set: no half-applied reload
    (tmp_path / "beta.yaml").write_text(pair_policy("beta", 2), encoding="utf-8")
    assert reg.reload().result == "rejected" and generation(reg.get("beta")) == 1


def test_reload_reports_applied_and_unchanged(tmp_path):
    write_pair(tmp_path, 1)
    reg = PolicyRegistry.load([tmp_path])
    unchanged, applied = reloads("unchanged"), reloads("applied")
    (tmp_path / "alpha.yaml").write_text("# comment\n" + pair_policy("alpha", 1), encoding="utf-8")
    assert reg.reload().result == "unchanged" and reloads("unchanged") == unchanged + 1
    (tmp_path / "gamma.yaml").write_text(pair_policy("gamma", 5), encoding="utf-8")
    write_pair(tmp_path, 2)
    result = reg.reload()
    assert (result.result, result.added, result.changed) == ("applied", ("gamma",), ("alpha", "beta"))
    assert reloads("applied") == applied + 1
    assert result.versions["alpha"] == reg.get("alpha").version


async def test_async_listeners_are_awaited(tmp_path):
    write_pair(tmp_path, 1)
    reg = PolicyRegistry.load([tmp_path])
    got: list[str] = []

    async def listener(result: ReloadResult) -> None:
        await asyncio.sleep(0)
        got.append(result.result)

    reg.on_reload(listener)
    write_pair(tmp_path, 2)
    assert (await reg.areload()).result == "applied"
    assert got == ["applied"]


async def _wait_for(predicate, limit: float) -> float:
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > limit:
            raise AssertionError(f"not reached within {limit}s")
        await asyncio.sleep(0.05)
    return time.monotonic() - start


async def test_two_watchers_on_one_directory_converge_within_5_seconds(tmp_path):
    write_pair(tmp_path, 1)
    workers = [PolicyRegistry.load([tmp_path]), PolicyRegistry.load([tmp_path])]
    seen: list[list[str]] = [[], []]
    for w, results in zip(workers, seen, strict=True):
        w.on_reload(lambda result, results=results: results.append(result.result))
    stop = asyncio.Event()
    tasks = [asyncio.create_task(w.watch(stop, debounce_ms=200)) for w in workers]
    try:
        # the watchers are running once each has reloaded an unchanged rewrite (a change made before a
        # watcher starts is not seen: waiting a fixed time for the start races a busy machine)
        start = time.monotonic()
        while not all(seen):
            assert time.monotonic() - start < 30, "the watchers did not start"
            write_pair(tmp_path, 1)
            await asyncio.sleep(0.25)
        write_pair(tmp_path, 2)
        took = await _wait_for(lambda: all(generation(w.get("beta")) == 2 for w in workers), 5.0)
        assert took < 5.0
        # a bad edit is seen by both and rejected by both: both keep generation 2
        (tmp_path / "alpha.yaml").write_text("id: alpha\ntitle: [broken\n", encoding="utf-8")
        await _wait_for(lambda: all("rejected" in results for results in seen), 30.0)
        assert all(generation(w.get("alpha")) == 2 for w in workers)
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 5)


async def test_sighup_reloads(tmp_path):
    write_pair(tmp_path, 1)
    reg = PolicyRegistry.load([tmp_path])
    assert reg.install_sighup()
    try:
        write_pair(tmp_path, 3)
        os.kill(os.getpid(), signal.SIGHUP)
        await _wait_for(lambda: generation(reg.get("alpha")) == 3, 30.0)
    finally:
        reg.remove_sighup()


def test_builtin_packs_dir_is_the_repository_policies_folder():
    assert (builtin_packs_dir() / "cn-anthropomorphic-2026.yaml").is_file()


def test_a_copied_pack_directory_loads_the_same_versions(tmp_path):
    shutil.copytree(PACKS, tmp_path / "packs", ignore=shutil.ignore_patterns("tests"))
    a = PolicyRegistry.load([PACKS])
    b = PolicyRegistry.load([tmp_path / "packs"])
    assert {i: a.get(i).version for i in a.ids()} == {i: b.get(i).version for i in b.ids()}
