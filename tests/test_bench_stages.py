"""Where one request's time goes (``bench/stages.py``, ``bench/stage_timer.py``): the timer keeps every stage's wall
time without changing what the stage returns, hands its samples over once and starts afresh, and the section's
differences are the arithmetic of the medians measured; a real run times every stage of real requests."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from bench import stage_timer
from bench.settings import EXTRA_SECTIONS, REPO
from bench.stages import HOLDS, StageTimes, render


@pytest.fixture
def fresh_samples() -> Iterator[None]:
    saved = {name: list(values) for name, values in stage_timer.samples.items()}
    yield
    for name, values in saved.items():
        stage_timer.samples[name][:] = values


def test_every_stage_names_a_method_that_exists_and_the_section_explains_each() -> None:
    import importlib

    for name, module, cls, method in stage_timer.STAGES:
        assert asyncio.iscoroutinefunction(getattr(getattr(importlib.import_module(module), cls), method)), name
    assert [name for name, *_ in stage_timer.STAGES] == list(HOLDS)
    assert EXTRA_SECTIONS["stages"].argv("py", REPO, quick=True) == ["py", "-m", "bench.stages", "--quick"]


def test_a_timed_stage_returns_what_it_did_and_keeps_its_time(fresh_samples: None, tmp_path: Path) -> None:
    class Slow:
        async def work(self, x: int) -> int:
            await asyncio.sleep(0.02)
            return x * 2

    timed = stage_timer._timed("record", Slow.work)
    stage_timer.samples["record"].clear()
    assert asyncio.run(timed(Slow(), 21)) == 42
    (took,) = stage_timer.samples["record"]
    assert 20_000 <= took < 1_000_000   # microseconds: the 20 ms sleep, not a unit off

    out = tmp_path / "stages.json"
    stage_timer.flush(out)
    assert orjson.loads(out.read_bytes())["record"] == [took]
    assert stage_timer.samples["record"] == []   # handed over once: the next read holds only later requests


def test_the_differences_are_the_medians_subtracted() -> None:
    medians = {"request": 2000.0, "admission": 400.0, "upstream": 450.0, "reply": 1000.0, "record": 500.0,
               "audit_store": 240.0}
    times = StageTimes(added_p50_ms=2.2, direct_p50_ms=0.1, proxy_p50_ms=2.3, medians_us=medians,
                       counts=dict.fromkeys(medians, 10))
    text = render(times, 10)
    assert "added **+2.200 ms**" in text
    assert re.search(r"request − upstream \(difference\) \| 1,550 µs", text)
    assert re.search(r"reply − record \(difference\) \| 500 µs", text)
    assert re.search(r"record − audit_store \(difference\) \| 260 µs", text)
    assert re.search(r"request − admission − upstream − reply \(difference\) \| 150 µs", text)


def test_a_real_run_times_every_stage_of_real_requests() -> None:
    done = subprocess.run([sys.executable, "-m", "bench.stages", "--requests", "60", "--warmup", "20", "--no-pin"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = dict(re.findall(r"^\| `(\w+)` \| ([\d,]+) µs \| 60 \|", done.stdout, re.M))
    assert set(rows) == set(HOLDS)   # every stage, once per measured request (the warm-up's dropped)
    us = {name: int(v.replace(",", "")) for name, v in rows.items()}
    # nested stages: each holds the ones inside it
    assert us["request"] > us["upstream"] > 0
    assert us["request"] > us["reply"] > us["record"] > us["audit_store"] > 0
