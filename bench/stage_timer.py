"""``candor`` with a clock on the stages of a chat request: run as ``python -m bench.stage_timer serve --config ...``.

Each stage is an async method of the proxy (``STAGES``), wrapped before the server starts so that every call's wall
time is kept (microseconds). On SIGUSR1 the samples so far are written to the JSON file named by
``CANDOR_BENCH_STAGES``, as ``{stage: [µs, ...]}``, and forgotten; ``bench.stages`` reads it. A wrapper costs about a
microsecond a call, and nothing is written while requests are timed.
"""

from __future__ import annotations

import functools
import importlib
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson

# (stage, module, class, async method), outermost first: each stage's time holds the ones nested in it
STAGES: list[tuple[str, str, str, str]] = [
    ("request", "middleware.http.app", "ChatEndpoint", "handle"),
    ("admission", "middleware.pipeline.stages", "Pipeline", "admit"),
    ("upstream", "adapters.upstream.openai_compat", "OpenAICompatibleUpstream", "_send_raw"),
    ("reply", "middleware.http.app", "ChatEndpoint", "collected"),
    ("record", "middleware.pipeline.stages", "Pipeline", "record"),
    ("audit_store", "adapters.sqlite.audit", "SQLiteAuditStore", "append"),
]

samples: dict[str, list[float]] = {name: [] for name, *_ in STAGES}


def flush(path: Path) -> None:
    """Write the samples so far to ``path`` (atomically) and start afresh."""
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(orjson.dumps(samples))
    tmp.replace(path)
    for kept in samples.values():
        kept.clear()


def _timed(name: str, method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    kept = samples[name]

    @functools.wraps(method)
    async def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return await method(*args, **kwargs)
        finally:
            kept.append((time.perf_counter() - start) * 1e6)

    return timed


def install() -> None:
    """Wrap every stage's method (once)."""
    for name, module, cls, method in STAGES:
        owner = getattr(importlib.import_module(module), cls)
        original = getattr(owner, method)
        if getattr(original, "__wrapped__", None) is None:
            setattr(owner, method, _timed(name, original))


def main() -> int:
    install()
    target = os.environ.get("CANDOR_BENCH_STAGES")
    if target:
        signal.signal(signal.SIGUSR1, lambda *_: flush(Path(target)))
    from adapters.main import main as candor

    sys.argv[0] = "candor"
    candor()
    return 0


if __name__ == "__main__":
    sys.exit(main())
