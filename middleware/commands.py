"""The command groups of ``candor`` besides ``serve``; each package registers its own verbs."""

from __future__ import annotations

import argparse
from collections.abc import Callable

Register = Callable[[argparse._SubParsersAction], None]  # type: ignore[type-arg]


def registered() -> list[Register]:
    out: list[Register] = []
    try:
        from .policy.cli import add_policy_commands

        out.append(add_policy_commands)
    except ImportError:
        pass
    return out
