"""Guardrails AI, configured for a compliance product: no telemetry, no Hub, no network.

Guardrails sends usage traces to a third-party endpoint unless told otherwise, and it re-reads
``~/.guardrailsrc`` (default: metrics on) every time a ``Guard`` is built or configured. So the
switch is thrown in code, at import and again after every ``Guard`` construction, and each Guard
is configured with ``allow_metrics_collection=False``. Importing this module is enough to make the
validators safe; ``make_guard`` is the only way Candor builds a Guard.
"""

from __future__ import annotations

from collections.abc import Sequence

from guardrails import Guard
from guardrails.settings import settings
from guardrails.utils.hub_telemetry_utils import HubTelemetry
from guardrails.validator_base import Validator


def disable_telemetry() -> None:
    """Turn Guardrails' metrics off process-wide (settings flag and the shared tracer)."""
    settings.rc.enable_metrics = False
    settings.use_server = False
    # HubTelemetry is a process-wide singleton whose flag every Guard.configure() rewrites.
    HubTelemetry()._enabled = False


def make_guard(validators: Sequence[Validator], *, name: str | None = None) -> Guard:
    """A Guard over string output using ``validators``, with telemetry off."""
    disable_telemetry()
    guard = Guard(name=name) if name else Guard()
    guard.configure(allow_metrics_collection=False)
    # configure() reloaded ~/.guardrailsrc into settings.rc: switch the flag off again.
    disable_telemetry()
    if validators:
        guard.use(*validators)
    return guard


disable_telemetry()
