"""The command groups of ``candor`` besides ``serve``; each package registers its own verbs."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

Register = Callable[[argparse._SubParsersAction], None]  # type: ignore[type-arg]


def _user_commands(subparsers: Any) -> None:
    from .audit.cli import add_user_erase_command

    user = subparsers.add_parser("user", help="user profiles and erasure (ANTH-DATA-2)")
    verbs = user.add_subparsers(dest="user_command", metavar="VERB", required=True)
    add_user_erase_command(verbs)
    try:
        from .profiles.cli import add_user_commands
    except ImportError:   # profiles land with the vulnerable-users issue
        return
    add_user_commands(verbs)


def registered() -> list[Register]:
    from .audit.cli import add_audit_commands
    from .likeness.cli import add_consent_commands, add_persona_commands
    from .policy.cli import add_policy_commands

    return [add_policy_commands, add_audit_commands, add_persona_commands, add_consent_commands,
            _user_commands]
