"""``candor persona add|list|show|disable`` and ``candor consent add|list|show|revoke``.

The commands work on the store directly (``cfg.audit.url``, or ``--store URL``), through the same
``LikenessService`` as the admin API, so the same rules apply. Running proxies notice the change
within a second (their revision poll), at once when they share a Redis state URL with this config.

Each subcommand sets ``args.func(args) -> int`` (the exit code): 0 done, 1 refused (the message says
why), 2 unusable config or store.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import re
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import orjson

from middleware.cli.runner import cli_actor, service_command
from middleware.composition import current
from middleware.config.deployment import CandorConfig
from middleware.http.errors import CandorError
from middleware.likeness.api import consent_json, persona_json
from middleware.likeness.models import Consent, Persona, PersonaPatch, from_ts
from middleware.likeness.service import LikenessService, OnChange

Opener = Callable[[CandorConfig, str | None], AbstractAsyncContextManager[LikenessService]]
RELATIONSHIPS = ("assistant", "friend", "companion", "partner", "spouse", "parent", "child", "sibling", "relative")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def make_opener(on_change: OnChange | None = None) -> Opener:
    """Opens the registry for one command; ``on_change`` records each change (the audit log)."""

    def opener(cfg: CandorConfig, store_url: str | None) -> AbstractAsyncContextManager[LikenessService]:
        return current().likeness(cfg, store_url, on_change)

    return opener


default_opener = make_opener()


def _common(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: never overwrite a --store given to the top-level parser
    parser.add_argument("--store", metavar="URL", default=argparse.SUPPRESS,
                        help="persona/consent store (default: the audit store, audit.url)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def _kinds(value: str) -> list[str]:
    return [k.strip() for k in value.split(",") if k.strip()]


def _moment(value: str | None) -> str | None:
    """ISO 8601 with a timezone; a bare date means midnight UTC."""
    if value is None:
        return None
    return f"{value}T00:00:00Z" if _DATE.fullmatch(value) else value


def _print(args: argparse.Namespace, data: Any, text: str) -> None:
    print(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() if args.json else text)


def _persona_text(p: Persona) -> str:
    lk = p.likeness
    likeness = "-" if lk is None else f"{lk.subject_id} ({','.join(lk.kinds)}{', deceased' if lk.deceased else ''})"
    return f"{p.id}\t{p.relationship}\t{'enabled' if p.enabled else 'DISABLED'}\t{likeness}\t{p.display_name}"


def _consent_text(c: Consent, now: float) -> str:
    until = c.valid_until.isoformat() if c.valid_until else "until revoked"
    line = (f"{c.id}\t{c.status(from_ts(now))}\t{c.subject_id}\t{c.granted_by}\t{','.join(c.scopes)}\t"
            f"{c.valid_from.isoformat()} .. {until}")
    if c.revoked_at:
        line += f"\trevoked {c.revoked_at.isoformat()}: {c.revoked_reason}"
    return line


# -- persona ---------------------------------------------------------------------------------------

async def _persona_add(svc: LikenessService, args: argparse.Namespace) -> None:
    body: dict[str, Any] = {"id": args.id, "display_name": args.name, "relationship": args.relationship,
                            "enabled": not args.disabled}
    if args.subject:
        likeness: dict[str, Any] = {"subject_id": args.subject, "kinds": _kinds(args.kinds)}
        if args.deceased:
            likeness["deceased"] = True
        if args.subject_birth_date:
            likeness["subject_birth_date"] = args.subject_birth_date
        body["likeness"] = likeness
    elif args.deceased or args.subject_birth_date:
        raise CandorError(400, "invalid_request",
                          "--deceased and --subject-birth-date describe a likeness: add --subject")
    p = await svc.add_persona(body, actor=cli_actor())
    _print(args, persona_json(p), f"added persona {_persona_text(p)}")


async def _persona_list(svc: LikenessService, args: argparse.Namespace) -> None:
    personas = await svc.list_personas()
    _print(args, [persona_json(p) for p in personas],
           "\n".join(_persona_text(p) for p in personas) or "no personas registered")


async def _persona_show(svc: LikenessService, args: argparse.Namespace) -> None:
    p = await svc.get_persona(args.id)
    cov = await svc.consent_coverage(p)
    text = _persona_text(p)
    if p.likeness:
        text += (f"\nconsent covers: {', '.join(cov['covered']) or 'nothing'}"
                 f"; missing: {', '.join(cov['missing']) or 'nothing'}")
    _print(args, {**persona_json(p), "consent": cov}, text)


async def _persona_disable(svc: LikenessService, args: argparse.Namespace) -> None:
    p = await svc.disable_persona(args.id, actor=cli_actor())
    _print(args, persona_json(p), f"disabled persona {p.id}")


async def _persona_enable(svc: LikenessService, args: argparse.Namespace) -> None:
    p = await svc.patch_persona(args.id, PersonaPatch(enabled=True), actor=cli_actor())
    _print(args, persona_json(p), f"enabled persona {p.id}")


def add_persona_commands(subparsers: Any, opener: Opener | None = None) -> None:
    """Register ``persona add|list|show|enable|disable`` on the ``candor`` subparsers."""
    opener = opener or default_opener
    persona = subparsers.add_parser("persona", help="persona registry (who apps may chat as)")
    sub = persona.add_subparsers(dest="persona_command", required=True, metavar="{add,list,show,enable,disable}")
    add = sub.add_parser("add", help="register a persona")
    add.add_argument("id", help="the id apps send in X-Candor-Persona")
    add.add_argument("--name", required=True, help="display name")
    add.add_argument("--relationship", required=True, choices=RELATIONSHIPS)
    add.add_argument("--subject", help="the real person depicted (likeness subject id)")
    add.add_argument("--kinds", default="face,voice,name", help="likeness kinds used: face,voice,name")
    add.add_argument("--deceased", action="store_true", help="the subject has died (next of kin consent)")
    add.add_argument("--subject-birth-date", metavar="YYYY-MM-DD", help="decides whether a guardian consents")
    add.add_argument("--disabled", action="store_true", help="register it disabled")
    for name, action, help_text in (("list", _persona_list, "list personas"),
                                    ("show", _persona_show, "show a persona and its consent coverage"),
                                    ("enable", _persona_enable, "enable a persona again"),
                                    ("disable", _persona_disable, "disable a persona (kill switch)")):
        p = sub.add_parser(name, help=help_text)
        if name != "list":
            p.add_argument("id")
        _common(p)
        p.set_defaults(func=service_command(action, opener))
    _common(add)
    add.set_defaults(func=service_command(_persona_add, opener))


# -- consent ---------------------------------------------------------------------------------------

def _sha256_file(path: str) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


async def _consent_add(svc: LikenessService, args: argparse.Namespace) -> None:
    if args.evidence:
        try:
            digest = await asyncio.to_thread(_sha256_file, args.evidence)
        except OSError as exc:
            raise CandorError(400, "invalid_request", f"cannot read evidence file: {exc}") from exc
    else:
        digest = args.evidence_sha256
    body: dict[str, Any] = {"subject_id": args.subject, "granted_by": args.granted_by,
                            "scopes": _kinds(args.scopes), "purpose": args.purpose,
                            "evidence_sha256": digest}
    for key, value in (("id", args.id), ("replaces", args.replaces), ("valid_from", _moment(args.valid_from)),
                       ("valid_until", _moment(args.valid_until))):
        if value is not None:
            body[key] = value
    c = await svc.add_consent(body, actor=cli_actor())
    _print(args, consent_json(c, time.time()), f"added consent {_consent_text(c, time.time())}")


async def _consent_list(svc: LikenessService, args: argparse.Namespace) -> None:
    now = time.time()
    consents = await svc.list_consents(args.subject)
    if args.status:
        consents = [c for c in consents if c.status(from_ts(now)) == args.status]
    _print(args, [consent_json(c, now) for c in consents],
           "\n".join(_consent_text(c, now) for c in consents) or "no consents recorded")


async def _consent_show(svc: LikenessService, args: argparse.Namespace) -> None:
    c = await svc.get_consent(args.id)
    now = time.time()
    text = _consent_text(c, now) + f"\npurpose: {c.purpose}\nevidence sha256: {c.evidence_sha256}"
    if c.replaces:
        text += f"\nreplaces: {c.replaces}"
    if c.replaced_by:
        text += f"\nreplaced by: {c.replaced_by}"
    _print(args, consent_json(c, now), text)


async def _consent_revoke(svc: LikenessService, args: argparse.Namespace) -> None:
    c = await svc.revoke_consent(args.id, actor=cli_actor(), reason=args.reason)
    _print(args, consent_json(c, time.time()), f"revoked consent {c.id}: {c.revoked_reason}")


def add_consent_commands(subparsers: Any, opener: Opener | None = None) -> None:
    """Register ``consent add|list|show|revoke`` on the ``candor`` subparsers."""
    opener = opener or default_opener
    consent = subparsers.add_parser("consent", help="likeness consent ledger")
    sub = consent.add_subparsers(dest="consent_command", required=True, metavar="{add,list,show,revoke}")
    add = sub.add_parser("add", help="record a consent (never edited later: revoke or --replaces)")
    add.add_argument("--subject", required=True, help="subject id (the depicted person)")
    add.add_argument("--granted-by", required=True, choices=("subject", "guardian", "next_of_kin"))
    add.add_argument("--scopes", required=True, help="face,voice,name")
    add.add_argument("--purpose", required=True, help="the purpose disclosed to the person consenting")
    add.add_argument("--valid-from", metavar="TIME",
                     help="ISO 8601 with timezone, or YYYY-MM-DD (midnight UTC); default: now")
    add.add_argument("--valid-until", metavar="TIME",
                     help="ISO 8601 with timezone, or YYYY-MM-DD (midnight UTC); default: until revoked")
    evidence = add.add_mutually_exclusive_group(required=True)
    evidence.add_argument("--evidence", metavar="FILE", help="the signed consent document (its SHA-256 is stored)")
    evidence.add_argument("--evidence-sha256", metavar="HEX", help="SHA-256 of the evidence document")
    add.add_argument("--replaces", metavar="ID", help="revoke this consent and record this one in its place")
    add.add_argument("--id", help="consent id (default: generated)")
    _common(add)
    add.set_defaults(func=service_command(_consent_add, opener))

    lst = sub.add_parser("list", help="list consents (revoked ones included)")
    lst.add_argument("--subject", help="only this subject's consents")
    lst.add_argument("--status", choices=("active", "pending", "expired", "revoked"))
    _common(lst)
    lst.set_defaults(func=service_command(_consent_list, opener))

    show = sub.add_parser("show", help="show one consent")
    show.add_argument("id")
    _common(show)
    show.set_defaults(func=service_command(_consent_show, opener))

    revoke = sub.add_parser("revoke", help="revoke a consent: every proxy stops the persona within 1 s")
    revoke.add_argument("id")
    revoke.add_argument("--reason", help="why (kept in the ledger and the audit log)")
    _common(revoke)
    revoke.set_defaults(func=service_command(_consent_revoke, opener))
