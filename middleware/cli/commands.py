"""The command groups of ``candor`` besides ``serve``; each package registers its own verbs."""

from __future__ import annotations

import argparse
import contextlib
import functools
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from middleware.audit.log import AuditLog
    from middleware.config.deployment import CandorConfig
    from middleware.likeness.service import LikenessService
    from middleware.profiles.service import ProfileService

Register = Callable[[argparse._SubParsersAction], None]  # type: ignore[type-arg]


def _user_commands(subparsers: Any) -> None:
    from middleware.audit.cli import add_user_erase_command
    from middleware.profiles.cli import add_user_commands

    user = subparsers.add_parser("user", help="user profiles and erasure (ANTH-DATA-2)")
    verbs = user.add_subparsers(dest="user_command", metavar="VERB", required=True)
    add_user_erase_command(verbs)
    add_user_commands(verbs, _audited_profiles)


@contextlib.asynccontextmanager
async def _audit_log_for(cfg: CandorConfig, store_url: str | None, what: str) -> AsyncIterator[AuditLog]:
    """The audit log of the store a CLI command changes. It must be writable first, so that no change
    made from the command line goes unrecorded."""
    from middleware.audit.log import AuditLog
    from middleware.http.errors import CandorError

    if store_url is not None:
        cfg = cfg.model_copy(update={"audit": cfg.audit.model_copy(update={"url": store_url})})
    audit = await AuditLog.open(cfg)
    try:
        if not audit.healthy:
            raise CandorError(503, "audit_unavailable",
                              f"the audit store {cfg.audit.url} is unavailable: {what} must be audited")
        yield audit
    finally:
        await audit.close()


@contextlib.asynccontextmanager
async def _audited_profiles(cfg: CandorConfig, store_url: str | None) -> AsyncIterator[ProfileService]:
    """``candor user set`` changes are audited like the admin API's: ``profile_change`` events."""
    from middleware.profiles.cli import make_opener
    from middleware.profiles.service import ChangeRecord
    from middleware.rules.records import profile_change_event

    async with _audit_log_for(cfg, store_url, "profile changes") as audit:
        async def on_change(change: ChangeRecord) -> None:
            await audit.append(profile_change_event(change))

        async with make_opener(on_change)(cfg, store_url) as service:
            yield service


@contextlib.asynccontextmanager
async def _audited_likeness(cfg: CandorConfig, store_url: str | None) -> AsyncIterator[LikenessService]:
    """``candor persona|consent`` changes are audited like the admin API's: ``persona_change`` and
    ``consent_change`` events."""
    from middleware.likeness.cli import make_opener
    from middleware.likeness.service import ChangeRecord
    from middleware.rules.records import likeness_change_event

    async with _audit_log_for(cfg, store_url, "persona and consent changes") as audit:
        async def on_change(change: ChangeRecord) -> None:
            await audit.append(likeness_change_event(change))

        async with make_opener(on_change)(cfg, store_url) as service:
            yield service


def registered() -> list[Register]:
    from middleware.audit.cli import add_audit_commands
    from middleware.cli.ops import add_ops_commands
    from middleware.config.check import add_config_commands
    from middleware.detectors.cli import add_detectors_commands
    from middleware.likeness.cli import add_consent_commands, add_persona_commands
    from middleware.media.cli import add_label_commands
    from middleware.policy.cli import add_policy_commands

    return [add_policy_commands, add_audit_commands,
            functools.partial(add_persona_commands, opener=_audited_likeness),
            functools.partial(add_consent_commands, opener=_audited_likeness),
            _user_commands, add_label_commands, add_config_commands, add_ops_commands, add_detectors_commands]
