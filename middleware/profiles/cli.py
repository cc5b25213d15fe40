"""``candor user show USER`` and ``candor user set USER ...``.

The lead creates the ``user`` command group (and registers ``user erase`` from the audit package
next to these); ``add_user_commands`` receives that group's subparsers. The commands work on the
store directly (``cfg.audit.url``, or ``--store URL``), through the same ``ProfileService`` as the
admin API, so the same rules apply and every change is reported to ``on_change``. Running proxies
see the change within a second (their revision poll), at once when they share a Redis state URL.

Each subcommand sets ``args.func(args) -> int`` (the exit code): 0 done, 1 refused (the message says
why), 2 unusable config or store.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import orjson

from middleware.cli.runner import cli_actor, service_command
from middleware.composition import current
from middleware.config.deployment import CandorConfig
from middleware.http.errors import CandorError
from middleware.profiles.api import profile_json
from middleware.profiles.models import AGE_BANDS, UserProfile
from middleware.profiles.service import OnChange, ProfileService

Opener = Callable[[CandorConfig, str | None], AbstractAsyncContextManager[ProfileService]]


def make_opener(on_change: OnChange | None = None) -> Opener:
    """An opener building the service from the config; ``on_change`` lets the CLI audit its changes."""

    def opener(cfg: CandorConfig, store_url: str | None) -> AbstractAsyncContextManager[ProfileService]:
        return current().profiles(cfg, store_url, on_change)

    return opener


def _yes_no(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("yes", "y", "true", "1"):
        return True
    if lowered in ("no", "n", "false", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected yes or no, not {value!r}")




def profile_text(user_id: str, p: UserProfile) -> str:
    def opt(value: object) -> str:
        return "-" if value is None or value == [] else str(value)

    minors = "on" if p.minors_mode else "off"
    if p.minors_mode_override:
        minors += " (overridden by an appeal: not applied)"
    lines = [
        f"user: {user_id}",
        f"age band: {opt(p.age_band)}",
        f"guardian consent: {'yes' if p.guardian_consent else 'no'}",
        f"guardian contact: {opt(p.guardian_contact)}",
        f"emergency contact: {opt(p.emergency_contact)}",
        f"blocked personas: {', '.join(p.blocked_personas) or '-'}",
        f"unlabeled output allowed: {'yes' if p.unlabeled_allowed else 'no'}",
        f"training consent: {'yes' if p.training_consent else 'no'}",
        f"minors mode: {minors}",
        f"updated: {p.updated_at.isoformat() if p.updated_at else '-'} (version {p.version})",
    ]
    return "\n".join(lines)


def _print(args: argparse.Namespace, user_id: str, profile: UserProfile, prefix: str = "") -> None:
    if args.json:
        print(orjson.dumps(profile_json(user_id, profile), option=orjson.OPT_INDENT_2).decode())
    else:
        print(prefix + profile_text(user_id, profile))


async def _show(svc: ProfileService, args: argparse.Namespace) -> None:
    _print(args, args.user, await svc.require(args.user))


async def _list(svc: ProfileService, args: argparse.Namespace) -> None:
    users = await svc.user_ids(args.limit, args.after)
    profiles = [(u, await svc.get_fresh(u)) for u in users]
    if args.json:
        print(orjson.dumps([profile_json(u, p) for u, p in profiles if p is not None],
                           option=orjson.OPT_INDENT_2).decode())
        return
    for user_id, p in profiles:
        if p is not None:
            print(f"{user_id}\tage band: {p.age_band or '-'}\tguardian consent: "
                  f"{'yes' if p.guardian_consent else 'no'}\tblocked personas: {len(p.blocked_personas)}")
    if not profiles:
        print("no user profiles registered")


async def _set(svc: ProfileService, args: argparse.Namespace) -> None:
    patch: dict[str, Any] = {}
    if args.age_band is not None:
        patch["age_band"] = None if args.age_band == "none" else args.age_band
    for name in ("guardian_consent", "unlabeled_allowed", "minors_mode", "minors_mode_override", "training_consent"):
        if getattr(args, name) is not None:
            patch[name] = getattr(args, name)
    for name in ("guardian_contact", "emergency_contact"):
        value = getattr(args, name)
        if value is not None:
            patch[name] = value.strip() or None  # '' clears the contact
    if args.block_persona:
        patch["block_personas"] = args.block_persona
    if args.unblock_persona:
        patch["unblock_personas"] = args.unblock_persona
    if not patch:
        raise CandorError(400, "invalid_request", "nothing to set: give at least one option (see --help)")
    _print(args, args.user, await svc.patch(args.user, patch, actor=cli_actor()), prefix="saved\n")


def add_user_commands(user_subparsers: Any, opener: Opener | None = None) -> None:
    """Register ``show`` and ``set`` on the ``candor user`` group's subparsers."""
    run_with = opener or make_opener()

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("user", metavar="USER", help="the user id the app sends ('user' field or X-Candor-User)")
        # SUPPRESS: never overwrite a --store given to a parent parser
        p.add_argument("--store", metavar="URL", default=argparse.SUPPRESS,
                       help="profile store (default: the audit store, audit.url)")
        p.add_argument("--json", action="store_true", help="print JSON instead of text")

    show = user_subparsers.add_parser("show", help="show a user's profile")
    common(show)
    show.set_defaults(func=service_command(_show, run_with))

    lst = user_subparsers.add_parser("list", help="list registered user profiles, in id order")
    lst.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    lst.add_argument("--after", metavar="USER", help="start after this user id (paging)")
    lst.add_argument("--store", metavar="URL", default=argparse.SUPPRESS,
                     help="profile store (default: the audit store, audit.url)")
    lst.add_argument("--json", action="store_true", help="print JSON instead of text")
    lst.set_defaults(func=service_command(_list, run_with))

    st = user_subparsers.add_parser("set", help="create or change a user's profile (only the options given change)")
    common(st)
    st.add_argument("--age-band", choices=(*AGE_BANDS, "none"), help="none clears it (the app's header applies)")
    st.add_argument("--guardian-consent", type=_yes_no, metavar="yes|no")
    st.add_argument("--guardian-contact", metavar="C", help="'' clears it")
    st.add_argument("--emergency-contact", metavar="C", help="'' clears it")
    st.add_argument("--block-persona", action="append", default=[], metavar="P", help="repeatable")
    st.add_argument("--unblock-persona", action="append", default=[], metavar="P", help="repeatable")
    st.add_argument("--unlabeled-allowed", type=_yes_no, metavar="yes|no",
                    help="deliver replies without the explicit label (LABEL-UNLABELED-1)")
    st.add_argument("--minors-mode", type=_yes_no, metavar="yes|no", help="minors mode (normally set by detection)")
    st.add_argument("--minors-mode-override", type=_yes_no, metavar="yes|no",
                    help="yes: an upheld appeal, minors mode stays off for this user")
    st.add_argument("--training-consent", type=_yes_no, metavar="yes|no",
                    help="the user's separate consent to training on their data (ANTH-DATA-3); without it "
                         "providers are asked not to store or train")
    st.set_defaults(func=service_command(_set, run_with))
