"""``candor alerts list|show|retry`` and ``candor session release``: the admin API's operator actions on
the command line. Changes are audited like the API's (``handover_release`` for a release, an
``alert_delivery`` event with an ``alert_retry`` decision for a retry); a change whose record cannot be
written is not made."""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson

from middleware.alerts.handover import HandoverStore
from middleware.alerts.models import STATUSES
from middleware.alerts.outbox import AlertOutbox
from middleware.audit.events import EventDraft, new_event_id
from middleware.cli.commands import _audit_log_for
from middleware.cli.runner import cli_actor, service_command
from middleware.composition import current
from middleware.config.deployment import CandorConfig
from middleware.http.errors import CandorError
from middleware.rules.records import handover_release_event


def _dump(data: Any) -> None:
    print(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


@contextlib.asynccontextmanager
async def _outbox(cfg: CandorConfig, store_url: str | None) -> AsyncIterator[AlertOutbox]:
    async with current().alert_outbox(cfg, store_url) as outbox:
        yield outbox


@contextlib.asynccontextmanager
async def _audited_outbox(cfg: CandorConfig, store_url: str | None) -> AsyncIterator[tuple[AlertOutbox, Any]]:
    async with _audit_log_for(cfg, store_url, "alert retries") as audit, \
            current().alert_outbox(cfg, store_url) as outbox:
        yield outbox, audit


@contextlib.asynccontextmanager
async def _audited_handovers(cfg: CandorConfig, store_url: str | None
                             ) -> AsyncIterator[tuple[HandoverStore, Any]]:
    async with _audit_log_for(cfg, store_url, "hand-over releases") as audit, \
            current().handovers(cfg, store_url) as store:
        yield store, audit


async def _list(outbox: AlertOutbox, args: argparse.Namespace) -> None:
    entries = await outbox.list(None if args.status == "all" else args.status, args.limit)
    if args.json:
        _dump([e.as_json() for e in entries])
        return
    for e in entries:
        data = e.as_json()
        print(f"{data.get('id')}\t{data.get('kind')}\t{e.status}\tattempts: {e.attempts}"
              f"\tlast error: {e.last_error or '-'}")
    if not entries:
        print(f"no {args.status if args.status != 'all' else ''} alerts".replace("  ", " "))


async def _show(outbox: AlertOutbox, args: argparse.Namespace) -> None:
    entry = await outbox.get(args.id)
    if entry is None:
        raise CandorError(404, "alert_not_found", f"no alert {args.id!r} in the outbox")
    _dump(entry.as_json())


async def _retry(pair: tuple[AlertOutbox, Any], args: argparse.Namespace) -> None:
    outbox, audit = pair
    entry = await outbox.get(args.id)
    if entry is None:
        raise CandorError(404, "alert_not_found", f"no alert {args.id!r} in the outbox")
    if entry.status == "delivered":
        raise CandorError(409, "alert_delivered", f"alert {args.id!r} was already delivered: nothing to retry")
    await audit.append(EventDraft(
        event_id=new_event_id(), kind="alert_delivery", app_id=entry.alert.app_id,
        decisions=[{"rule": "alert_retry", "cites": [], "outcome": "requeued",
                    "detail": {"alert_id": args.id, "actor": cli_actor(), "previous_status": entry.status,
                               "attempts": entry.attempts}}], fail_mode="closed"))
    if not await outbox.store.retry_now(args.id, time.time()):   # the console's "retry now", the same store call
        raise CandorError(409, "alert_delivered", f"alert {args.id!r} was delivered meanwhile, or is being "
                          "attempted right now")
    print(f"alert {args.id} is pending again: the running server delivers it within alerts.poll_interval")


async def _release(pair: tuple[HandoverStore, Any], args: argparse.Namespace) -> None:
    store, audit = pair
    actor = cli_actor()
    ended = await store.release(args.session, args.app, actor, time.time())
    if not ended:
        raise CandorError(404, "session_not_paused", f"session {args.session!r} is not handed over (nothing to "
                          "release)")
    await audit.append(handover_release_event(ended, actor))
    print(f"released session {args.session}: {len(ended)} hand-over(s) ended; the servers resume within a second")


def add_ops_commands(subparsers: Any) -> None:
    alerts = subparsers.add_parser("alerts", help="the crisis alert outbox (as GET /admin/alerts)")
    verbs = alerts.add_subparsers(dest="alerts_command", metavar="VERB", required=True)

    def store(p: argparse.ArgumentParser) -> None:
        p.add_argument("--store", metavar="URL", default=argparse.SUPPRESS,
                       help="store URL (default: the audit store, audit.url)")

    lst = verbs.add_parser("list", help="list alerts, newest first")
    lst.add_argument("--status", choices=(*STATUSES, "all"), default="pending")
    lst.add_argument("--limit", type=int, default=100)
    lst.add_argument("--json", action="store_true")
    store(lst)
    lst.set_defaults(func=service_command(_list, _outbox))
    show = verbs.add_parser("show", help="one alert with its delivery state (JSON)")
    show.add_argument("id")
    store(show)
    show.set_defaults(func=service_command(_show, _outbox))
    retry = verbs.add_parser("retry", help="make a failed (or waiting) alert due now")
    retry.add_argument("id")
    store(retry)
    retry.set_defaults(func=service_command(_retry, _audited_outbox))

    session = subparsers.add_parser("session", help="sessions (as POST /admin/sessions/{id}/release)")
    sverbs = session.add_subparsers(dest="session_command", metavar="VERB", required=True)
    release = sverbs.add_parser("release", help="end a crisis hand-over: the session may chat again")
    release.add_argument("session", metavar="SESSION")
    release.add_argument("--app", help="only this app's hand-over of the session")
    store(release)
    release.set_defaults(func=service_command(_release, _audited_handovers))
