"""``candor audit verify|export|receipt|report|purge`` and ``candor user erase``.

The lead's ``middleware/cli/main.py`` calls ``add_audit_commands(subparsers)`` and
``add_user_erase_command(user_subparsers)``; each command sets ``args.func(args) -> int`` (exit code).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, TypeVar

import orjson

from middleware.audit.api import parse_kinds
from middleware.audit.bundle import BundleError, verify_bundle, write_bundle
from middleware.audit.events import AuditUnavailable
from middleware.audit.export import export
from middleware.audit.keys import AuditKeyError, key_beside_store, load_keys, load_public_key, load_verify_keys
from middleware.audit.keys import key_id as public_key_id
from middleware.audit.log import AuditLog
from middleware.audit.receipt import ReceiptError, dump_receipt, load_receipt, make_receipt
from middleware.audit.report import compute_report, render_markdown
from middleware.audit.retention import DEFAULT_RETENTION
from middleware.audit.store import AuditStore, EventFilter, StoreUnavailable
from middleware.audit.verify import VerifyResult, outside_evidence_caveats, verify_store
from middleware.composition import current
from middleware.config.deployment import CandorConfig, find_config, load_config
from middleware.config.durations import format_duration, parse_duration

EXIT_OK, EXIT_TAMPERED, EXIT_UNUSABLE = 0, 1, 2
T = TypeVar("T")


def parse_time(text: str, now: float | None = None) -> int:
    """Microseconds since the epoch from ISO-8601 (naive means UTC) or a duration ago (``7d``)."""
    now = time.time() if now is None else now
    try:
        return int((now - parse_duration(text)) * 1_000_000)
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither an ISO-8601 time (2026-03-01, "
                                         "2026-03-01T12:00:00Z) nor a duration ago (7d, 12h)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1_000_000)


def _seconds(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _config(args: argparse.Namespace) -> CandorConfig:
    cfg = load_config(find_config(getattr(args, "config", None)))
    if getattr(args, "store", None):
        cfg.audit.url = args.store
    return cfg


def _err(msg: str) -> None:
    print(f"candor: {msg}", file=sys.stderr)


async def _open_existing(cfg: CandorConfig) -> AuditStore:
    store = current().audit_store(cfg.audit.url, cfg.base_dir)
    path = getattr(store, "path", None)
    if isinstance(path, Path) and not path.is_file():
        raise StoreUnavailable(f"no audit database at {path}")
    await store.open()
    return store


def _read_store(cfg: CandorConfig, use: Callable[[AuditStore], Awaitable[T]], *,
                also: tuple[type[Exception], ...] = ()) -> T | None:
    """``use(store)`` on the existing audit store, opened and closed around it; None, after saying why,
    when the store cannot be read (or ``use`` raises one of ``also``)."""

    async def run() -> T:
        store = await _open_existing(cfg)
        try:
            return await use(store)
        finally:
            await store.close()

    unreadable: tuple[type[Exception], ...] = (StoreUnavailable, OSError, *also)
    try:
        return asyncio.run(run())
    except unreadable as exc:
        _err(f"cannot read the audit store: {exc}")
        return None


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[IO[str]]:
    if path is None or path == "-":
        yield sys.stdout
        return
    with open(path, "w", encoding="utf-8", newline="") as fh:
        yield fh


def _print_result(result: VerifyResult, as_json: bool) -> None:
    if as_json:
        print(orjson.dumps(result.to_dict(), option=orjson.OPT_INDENT_2).decode())
        return
    if result.ok:
        rate = f", {result.events / result.seconds:,.0f} events/s" if result.seconds else ""
        receipt = f", {result.receipt_points} receipt points" if result.receipt_points else ""
        print(f"audit log intact: {result.events:,} events in {result.streams} streams, {result.checkpoints} "
              f"signed checkpoints, {result.anchors_checked} anchors checked{receipt} ({result.seconds:.2f}s{rate})")
        if result.caveats:
            print("not ruled out by this check:")
            for c in result.caveats:
                print(f"  - {c}")
    else:
        print(f"audit log TAMPERED: first bad event: {result.first}")
        for p in result.problems[1:]:
            print(f"  also: {p}")


def cmd_verify(args: argparse.Namespace) -> int:
    points: list[tuple[str, int, str, str]] = []
    if args.receipt:
        try:
            _, points = load_receipt(Path(args.receipt))
        except ReceiptError as exc:
            _err(str(exc))
            return EXIT_UNUSABLE
    if args.bundle:
        return _verify_bundle(args, points)
    cfg = _config(args)
    if args.public_key:
        cfg.audit.public_key = args.public_key
    keys = load_verify_keys(cfg)
    if not keys:
        _err("no public key to check signatures with: pass --public-key FILE (audit-signing.pub)")
        return EXIT_UNUSABLE
    anchor = Path(args.anchor_file) if args.anchor_file else (
        cfg.resolve_path(cfg.audit.anchor_file) if cfg.audit.anchor_file else None)

    result = _read_store(cfg, lambda store: verify_store(store, keys, anchor, points=points,
                                                         legacy_before_us=args.legacy_before), also=(ValueError,))
    if result is None:
        return EXIT_UNUSABLE
    if result.ok:
        result.caveats += outside_evidence_caveats(
            anchor_file=anchor, receipt=bool(points), witness_url=cfg.audit.witness_url,
            key_beside_db=key_beside_store(cfg))
    _print_result(result, args.json)
    return EXIT_OK if result.ok else EXIT_TAMPERED


def _verify_bundle(args: argparse.Namespace, points: list[tuple[str, int, str, str]]) -> int:
    """Offline: only the bundle, the public key (and a receipt) are read; no config, no store."""
    if not args.public_key:
        _err("verify --bundle needs --public-key FILE: the key you trust, not one taken from the bundle")
        return EXIT_UNUSABLE
    try:
        public = load_public_key(args.public_key)
    except (OSError, ValueError, AuditKeyError) as exc:
        _err(f"cannot read the public key: {exc}")
        return EXIT_UNUSABLE
    try:
        result = asyncio.run(verify_bundle(Path(args.bundle), {public_key_id(public): public}, points))
    except BundleError as exc:
        _err(str(exc))
        return EXIT_UNUSABLE
    if result.ok:
        result.caveats += outside_evidence_caveats(anchor_file=None, receipt=bool(points), witness_url=None,
                                                   key_beside_db=False)[1:]
    _print_result(result, args.json)
    return EXIT_OK if result.ok else EXIT_TAMPERED


def cmd_receipt(args: argparse.Namespace) -> int:
    """Verify, then sign every stream's head: the auditor keeps the file for ``verify --receipt``."""
    cfg = _config(args)
    try:
        keys = load_keys(cfg, create=False)
    except AuditKeyError as exc:
        _err(f"a receipt is signed with the log's key: {exc}")
        return EXIT_UNUSABLE
    verify_keys = load_verify_keys(cfg) or {keys.key_id: keys.public}
    verify_keys.setdefault(keys.key_id, keys.public)
    anchor = cfg.resolve_path(cfg.audit.anchor_file) if cfg.audit.anchor_file else None
    result = _read_store(cfg, lambda store: verify_store(store, verify_keys, anchor), also=(ValueError,))
    if result is None:
        return EXIT_UNUSABLE
    if not result.ok:
        _err(f"no receipt for a log that does not verify: {result.first}")
        return EXIT_TAMPERED
    data = dump_receipt(make_receipt(result, keys))
    if args.out and args.out != "-":
        Path(args.out).write_bytes(data)
        print(f"receipt of {len(result.heads)} streams ({result.events:,} events) written to {args.out}",
              file=sys.stderr)
    else:
        sys.stdout.write(data.decode())
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    cfg = _config(args)
    if args.bundle:
        return _export_bundle(args, cfg)
    try:
        keys = load_keys(cfg, create=False)
    except AuditKeyError as exc:
        if args.user:
            _err(f"--user needs the pseudonym key: {exc}")
            return EXIT_UNUSABLE
        keys = None
        _err(f"exporting without content: {exc}")
    flt = EventFilter(session_id=args.session, user_ref=keys.user_ref(args.user) if keys and args.user else None,
                      kinds=args.kind, since_us=args.since, until_us=args.until)

    async def run(store: AuditStore) -> int:
        with _output(args.out) as out:
            return await export(store, flt, out, args.format, None if keys is None or args.no_content else keys.master)

    count = _read_store(cfg, run)
    if count is None:
        return EXIT_UNUSABLE
    if args.out and args.out != "-":
        print(f"exported {count:,} events to {args.out}", file=sys.stderr)
    return EXIT_OK


def _export_bundle(args: argparse.Namespace, cfg: CandorConfig) -> int:
    if any(getattr(args, k) is not None for k in ("session", "user", "kind", "since", "until")) or args.out:
        _err("--bundle exports the whole log (a verifiable copy): it takes no filters and no --out")
        return EXIT_UNUSABLE
    try:
        keys = load_keys(cfg, create=False)
    except AuditKeyError as exc:
        _err(f"a bundle is signed with the log's key: {exc}")
        return EXIT_UNUSABLE

    target = Path(args.bundle)
    with target.open("wb") as fh:
        count = _read_store(cfg, lambda store: write_bundle(store, keys, fh))
    if count is None:
        target.unlink(missing_ok=True)
        return EXIT_UNUSABLE
    print(f"bundle of {count:,} events written to {args.bundle}; verify it offline with "
          f"candor audit verify --bundle {args.bundle} --public-key audit-signing.pub", file=sys.stderr)
    return EXIT_OK


def _kinds(text: str) -> tuple[str, ...]:
    try:
        return parse_kinds(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_report(args: argparse.Namespace) -> int:
    cfg = _config(args)

    report = _read_store(cfg, lambda store: compute_report(store, args.since, args.until))
    if report is None:
        return EXIT_UNUSABLE
    text = render_markdown(report) if args.format == "md" else orjson.dumps(
        report, option=orjson.OPT_INDENT_2).decode() + "\n"
    with _output(args.out) as out:
        out.write(text)
    for w in report["warnings"]:
        _err(f"warning: {w}")
    return EXIT_OK


async def _with_log(cfg: CandorConfig, fn: Any) -> Any:
    audit = await AuditLog.open(cfg)
    try:
        if not audit.healthy:
            raise AuditUnavailable(f"the audit store {cfg.audit.url} is unavailable")
        return await fn(audit)
    finally:
        await audit.close()


def cmd_purge(args: argparse.Namespace) -> int:
    cfg = _config(args)
    if args.older_than < 183 * 86400:
        _err(f"warning: {format_duration(args.older_than)} is less than the six months ANTH-LOG-1 requires")
    try:
        event = asyncio.run(_with_log(cfg, lambda a: a.purge(args.older_than)))
    except (AuditUnavailable, AuditKeyError, OSError) as exc:
        _err(str(exc))
        return EXIT_UNUSABLE
    detail = orjson.loads(event.body)["decisions"][0]["detail"]
    print(f"purged {detail['deleted']:,} events older than {format_duration(args.older_than)} "
          f"(before {detail['before']}); recorded as event {event.event_id}")
    return EXIT_OK


def _confirmed(user: str) -> bool:
    """Erasure cannot be undone: ask on a terminal, refuse without one (``--yes`` skips the question)."""
    if not sys.stdin.isatty():
        _err(f"erasing {user!r} cannot be undone: pass --yes to confirm (no terminal to ask on)")
        return False
    answer = input(f"Destroy all message content of user {user!r}? This cannot be undone. Type the user id to "
                   "confirm: ")
    if answer.strip() != user:
        _err("not confirmed: nothing was erased")
        return False
    return True


def cmd_erase(args: argparse.Namespace) -> int:
    if not args.yes and not _confirmed(args.user):
        return 1   # refused: nothing changed
    cfg = _config(args)
    try:
        event, keys, contents = asyncio.run(_with_log(cfg, lambda a: a.erase_user(args.user, actor="cli")))
    except (AuditUnavailable, AuditKeyError, OSError) as exc:
        _err(str(exc))
        return EXIT_UNUSABLE
    print(f"erased user {args.user}: {keys} data key(s) destroyed, {contents} content record(s) deleted; "
          f"recorded as event {event.event_id}")
    return EXIT_OK


def _store_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", metavar="URL", help="audit store URL (overrides audit.url)")


def _range_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--since", type=parse_time, metavar="T", help="ISO-8601 time or a duration ago (7d)")
    p.add_argument("--until", type=parse_time, metavar="T", help="ISO-8601 time or a duration ago (exclusive)")


def add_audit_commands(subparsers: Any) -> None:
    audit = subparsers.add_parser("audit", help="verify, export and report on the audit log")
    sub = audit.add_subparsers(dest="audit_command", required=True, metavar="COMMAND")

    p = sub.add_parser("verify", help="check hash chains, checkpoints and anchors (exit 0 intact, 1 tampered, "
                       "2 unusable store)")
    _store_arg(p)
    p.add_argument("--json", action="store_true", help="machine-readable result")
    p.add_argument("--public-key", metavar="FILE", help="Ed25519 public key (default: the exported one)")
    p.add_argument("--anchor-file", metavar="FILE", help="anchor file to check (default: audit.anchor_file)")
    p.add_argument("--receipt", metavar="FILE", help="fail unless the log still extends this receipt")
    p.add_argument("--bundle", metavar="FILE", help="verify an exported bundle offline (needs --public-key)")
    p.add_argument("--legacy-before", type=parse_time, metavar="T",
                   help="accept streams begun before T without a signed start (logs written before Candor "
                        "signed stream starts); each is listed as a caveat")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("receipt", help="sign every stream's head (after verifying) for an auditor to keep")
    _store_arg(p)
    p.add_argument("--out", metavar="FILE", help="default: standard output")
    p.set_defaults(func=cmd_receipt)

    p = sub.add_parser("export", help="export events (and content) as evidence")
    _store_arg(p)
    p.add_argument("--session", metavar="ID")
    p.add_argument("--user", metavar="ID", help="raw user id (pseudonymised for the lookup)")
    p.add_argument("--kind", metavar="K[,K...]", type=_kinds, help="event kinds, comma separated")
    _range_args(p)
    p.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    p.add_argument("--out", metavar="FILE", help="default: standard output")
    p.add_argument("--no-content", action="store_true", help="leave message content out")
    p.add_argument("--bundle", metavar="FILE", help="the whole log as a signed bundle for offline verify")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("report", help="compliance summary (ANTH-ASSESS-2 figures)")
    _store_arg(p)
    _range_args(p)
    p.add_argument("--format", choices=("md", "json"), default="md")
    p.add_argument("--out", metavar="FILE", help="default: standard output")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("purge", help="delete events older than the retention period (recorded, anchored)")
    _store_arg(p)
    p.add_argument("--older-than", type=_seconds, default=DEFAULT_RETENTION, metavar="DURATION",
                   help="default 190d (ANTH-LOG-1 needs at least six months)")
    p.set_defaults(func=cmd_purge)


def add_user_erase_command(user_subparsers: Any) -> None:
    p = user_subparsers.add_parser("erase", help="destroy a user's message content (ANTH-DATA-2)")
    p.add_argument("user", metavar="USER", help="the user id the app sends")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    _store_arg(p)
    p.set_defaults(func=cmd_erase)
