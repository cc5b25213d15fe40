"""What the ``candor persona|consent|user`` commands share: load the config, open the service, map
the outcome to an exit code (0 done, 1 refused, 2 unusable config or store).

The service is opened through an ``Opener`` (an async context manager built from the config and the
optional ``--store URL``), which the adapters provide: middleware never imports them itself.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

from middleware.config.deployment import CandorConfig, find_config, load_config
from middleware.config.yamlfile import FileProblems
from middleware.http.errors import CandorError

S = TypeVar("S")
Command = Callable[[argparse.Namespace], int]


def cli_actor() -> str:
    """Who made a change from the command line, for the audit log."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli"


def service_command(action: Callable[[S, argparse.Namespace], Awaitable[Any]],
                    opener: Callable[[CandorConfig, str | None], AbstractAsyncContextManager[S]]) -> Command:
    """``args.func`` for a subcommand: run ``action(service, args)`` on a service opened for it."""

    def run(args: argparse.Namespace) -> int:
        try:
            cfg = load_config(find_config(getattr(args, "config", None)))
        except (FileProblems, OSError) as exc:
            print(f"candor: config: {exc}", file=sys.stderr)
            return 2

        async def go() -> None:
            async with opener(cfg, getattr(args, "store", None)) as service:
                await action(service, args)

        try:
            asyncio.run(go())
        except CandorError as exc:
            print(f"candor: {exc.message}", file=sys.stderr)
            return 2 if exc.status >= 500 else 1   # a 503 means the store is unusable, not a refusal
        except (OSError, ValueError) as exc:
            print(f"candor: store: {exc}", file=sys.stderr)
            return 2
        return 0

    return run
