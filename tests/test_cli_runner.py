"""How a CLI verb runs on a service (middleware/cli/runner.py) and the composition port it reaches
adapters through (middleware/composition.py, adapters/root.py, adapters/main.py)."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from adapters import root
from adapters.main import main
from middleware import composition
from middleware.cli.runner import cli_actor, service_command
from middleware.config.deployment import CandorConfig
from middleware.http.errors import CandorError


def _opener(service: Any) -> Any:
    @contextlib.asynccontextmanager
    async def opener(cfg: CandorConfig, store: str | None) -> AsyncIterator[Any]:
        yield service

    return opener


def test_exit_codes_say_refused_or_unusable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    async def refuse(service: Any, args: argparse.Namespace) -> None:
        raise CandorError(403, "no", "refused")

    async def down(service: Any, args: argparse.Namespace) -> None:
        raise CandorError(503, "audit_unavailable", "down")

    async def fine(service: Any, args: argparse.Namespace) -> None:
        service.append(args.x)

    seen: list[int] = []
    ns = argparse.Namespace(x=1)
    assert service_command(fine, _opener(seen))(ns) == 0 and seen == [1]
    assert service_command(refuse, _opener(None))(ns) == 1
    assert service_command(down, _opener(None))(ns) == 2
    assert cli_actor().startswith("cli")


def test_the_engine_reaches_adapters_only_through_the_installed_root() -> None:
    root.install()
    assert isinstance(composition.current(), root.AdapterRoot)
    assert type(root.audit_store("sqlite:///x.db")).__name__ == "SQLiteAuditStore"
    with pytest.raises(ValueError):
        root.audit_store("mysql://h/db")


def test_the_entry_point_installs_the_root_and_runs_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0 and "candor" in capsys.readouterr().out
