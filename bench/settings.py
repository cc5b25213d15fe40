"""What a bench run measures: the scenarios, the extra sections and the settings of one run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "RESULTS.md"
STUB_KEY = "sk-stub"
STUB_MODEL = "stub-model"
PROXY_MODEL = "bench-model"


@dataclass(frozen=True)
class Scenario:
    """One measurement, run against the stub and against the proxy with the same settings."""

    key: str
    title: str
    stream: bool
    concurrency: int
    timed: bool  # True: a timed window (throughput); False: a fixed number of requests (latency)
    headers: tuple[tuple[str, str], ...] = ()


# Add scenarios here; the report lists them in this order.
SCENARIOS: list[Scenario] = [
    Scenario("nonstream_c1", "Non-streaming, 1 in flight", stream=False, concurrency=1, timed=False),
    Scenario("nonstream_c16", "Non-streaming, 16 in flight", stream=False, concurrency=16, timed=True),
    Scenario("stream_c1", "Streaming, 1 in flight", stream=True, concurrency=1, timed=False),
    Scenario("stream_c16", "Streaming, 16 in flight", stream=True, concurrency=16, timed=True),
]


@dataclass(frozen=True)
class ExtraSection:
    """A script run after the proxy scenarios (each in its own process, so its imports and timings do not
    mix with the harness's); its stdout (Markdown) is appended to the report under ``title``.

    ``command`` is either a script path relative to the repository (``bench/audit_bench.py``) or a module
    (``bench.micro``, run with ``python -m``). ``quick_args`` are added under ``--quick``, ``profile_args``
    under ``--profile``."""

    title: str
    command: str
    quick_args: tuple[str, ...] = ()
    profile_args: tuple[str, ...] = ()

    def argv(self, python: str, repo: Path, quick: bool = False, profile: bool = False) -> list[str]:
        head = [python, str(repo / self.command)] if self.command.endswith(".py") else [python, "-m", self.command]
        return [*head, *(self.quick_args if quick else ()), *(self.profile_args if profile else ())]


# Every section runs in a full ``python -m bench``; ``--without-NAME`` or ``--no-extras`` skip them.
EXTRA_SECTIONS: dict[str, ExtraSection] = {
    "micro": ExtraSection("Per-rule costs, in process", "bench.micro", ("--quick",)),
    "reload": ExtraSection("Policy reload under load", "bench.reload_bench", ("--quick",), ("--profile",)),
    "audit": ExtraSection("Audit log throughput", "bench/audit_bench.py", ("--events", "2000")),
    "console": ExtraSection("Console overview over 100,000 events", "bench.console_bench", ("--events", "5000")),
    "media": ExtraSection("Media labelling, in process", "bench.media_bench", ("--quick",)),
    "stages": ExtraSection("Where one request's time goes, 1 in flight", "bench.stages", ("--quick",)),
}


@dataclass
class Settings:
    requests: int = 2000
    warmup: int = 200
    duration: float = 10.0
    warmup_seconds: float = 2.0
    chunks: int = 12
    pin: bool = True
    direct_only: bool = False
    scenarios: list[Scenario] = field(default_factory=lambda: list(SCENARIOS))
    extras: list[str] = field(default_factory=list)
    command: str = "python -m bench"
    quick: bool = False
    profile: bool = False
    # issue 18's phases (bench/phases.py), after the short scenarios
    long_streams: int = 1000        # streams held open at once (0: skip the phase)
    long_interval: float = 0.4      # seconds between the upstream's chunks
    long_chunks: int = 20           # content chunks per long stream
    long_ramp: float | None = None  # seconds over which the starts are spread (default: half a stream's length)
    floor: bool = True              # the transport floor: bench/bare_relay.py, the same scenarios
    litellm: bool = True            # the LiteLLM proxy side by side (its own venv, bench/.litellm-venv)
    litellm_install: bool = True    # make that venv when it is missing
    workers: bool = True            # 1 and 2 workers, 16 in flight
    state: bool = True              # Redis state and PostgreSQL audit, 1 and 16 in flight

    def shorten(self) -> None:
        """``--quick``: a short load (seconds) to check the harness works; the figures are noisy."""
        self.requests, self.warmup, self.duration, self.warmup_seconds = 200, 20, 1.0, 0.3


def pick_scenarios(keys: str) -> list[Scenario]:
    """The scenarios a comma-separated ``--scenarios`` value names, in its order; ValueError naming the unknown."""
    known = {sc.key: sc for sc in SCENARIOS}
    wanted = [k.strip() for k in keys.split(",") if k.strip()]
    unknown = [k for k in wanted if k not in known]
    if unknown:
        raise ValueError(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return [known[k] for k in wanted]

