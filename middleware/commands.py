"""The command groups of ``candor`` besides ``serve``; each package registers its own verbs."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import CandorConfig
    from .profiles.service import ProfileService

Register = Callable[[argparse._SubParsersAction], None]  # type: ignore[type-arg]


def _user_commands(subparsers: Any) -> None:
    from .audit.cli import add_user_erase_command
    from .profiles.cli import add_user_commands

    user = subparsers.add_parser("user", help="user profiles and erasure (ANTH-DATA-2)")
    verbs = user.add_subparsers(dest="user_command", metavar="VERB", required=True)
    add_user_erase_command(verbs)
    add_user_commands(verbs, _audited_profiles)


@contextlib.asynccontextmanager
async def _audited_profiles(cfg: CandorConfig, store_url: str | None) -> AsyncIterator[ProfileService]:
    """``candor user set`` changes are audited like the admin API's: a ``profile_change`` event in the
    audit log of the same store. The log must be writable first, so no change is made unrecorded."""
    from .audit.log import AuditLog
    from .errors import CandorError
    from .profiles.cli import make_opener
    from .profiles.service import ChangeRecord
    from .rules.records import profile_change_event

    if store_url is not None:
        cfg = cfg.model_copy(update={"audit": cfg.audit.model_copy(update={"url": store_url})})
    audit = await AuditLog.open(cfg)
    try:
        if not audit.healthy:
            raise CandorError(503, "audit_unavailable",
                              f"the audit store {cfg.audit.url} is unavailable: profile changes must be audited")

        async def on_change(change: ChangeRecord) -> None:
            await audit.append(profile_change_event(change))

        async with make_opener(on_change)(cfg, store_url) as service:
            yield service
    finally:
        await audit.close()


def registered() -> list[Register]:
    from .audit.cli import add_audit_commands
    from .likeness.cli import add_consent_commands, add_persona_commands
    from .policy.cli import add_policy_commands

    return [add_policy_commands, add_audit_commands, add_persona_commands, add_consent_commands,
            _user_commands]
