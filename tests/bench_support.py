"""Shared by the bench smoke tests: the harness's servers get ports reserved for this test process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench import phases as bench_phases
from bench import servers as bench_servers
from tests.stubs import free_port


@pytest.fixture(scope="module", autouse=True)
def reserved_ports() -> Iterator[None]:
    """``tests.stubs.free_port`` for the bench's own servers: under pytest-xdist several test processes pick
    loopback ports at the same time, and the bench's ``free_port`` does not reserve them."""
    with pytest.MonkeyPatch.context() as m:
        for module in (bench_phases, bench_servers):
            m.setattr(module, "free_port", free_port)
        yield
