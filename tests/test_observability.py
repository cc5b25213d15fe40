"""Metrics (middleware/metrics.py) and logs (middleware/logs.py): what operators read."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

from middleware import logs, metrics

LOGS = logs.__name__   # configured in a child process below: configure() is process-wide


def test_a_request_shows_up_in_the_prometheus_text() -> None:
    metrics.observe("unit-test-model", 200, 0.012, 3.0)
    text = metrics.render().decode()
    assert 'candor_requests_total{model="unit-test-model",status="200"}' in text
    assert "candor_upstream_first_byte_seconds" in text


SCRIPT = """
from middleware.logs import configure, get_logger
configure("info")
get_logger().debug("not at info")
try:
    raise ValueError("boom")
except ValueError as exc:
    get_logger().error("unhandled", exc_info=exc)
"""


def test_logs_are_json_lines_with_the_traceback() -> None:
    # in a child process: configure() is process-wide, and this suite's own logging must stay as it is
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[1])
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout + done.stderr
    record = orjson.loads(lines[0])
    assert record["event"] == "unhandled" and "ValueError: boom" in record["exception"]
    assert record["level"] == "error" and record["timestamp"].endswith("Z")
