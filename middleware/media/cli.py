"""``candor label inspect FILE`` and ``candor label apply FILE --out OUT`` (contract 6.4).

``inspect`` prints, as JSON, every label found per location and whether the explicit label is present
where that can be checked; exit 0 when a label was found, 1 when none, 2 when the file cannot be read.
``apply`` labels a file an operator produced elsewhere the way the proxy labels what passes through;
exit 0 done, 2 when the file cannot be labelled.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from pathlib import Path
from typing import Any

import orjson

from middleware.media.errors import MediaError


def _read(path: str) -> bytes | None:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        print(f"candor: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return None


def _inspect(args: argparse.Namespace) -> int:
    from middleware.media.inspect import inspect_bytes

    data = _read(args.file)
    if data is None:
        return 2
    try:
        report = inspect_bytes(data)
    except MediaError as exc:
        print(f"candor: {args.file}: {exc}", file=sys.stderr)
        return 2
    report = {"file": args.file, "bytes": len(data), **report}
    sys.stdout.write(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0 if report["labelled"]["any"] else 1


def producer_code(cfg: Any, explicit: str | None) -> str:
    """``--producer``, else ``operator.code``, else ``operator.name``, else ``candor``."""
    op = getattr(cfg, "operator", None)
    return explicit or (op.code if op else None) or (op.name if op else None) or "candor"


def _apply(args: argparse.Namespace) -> int:
    from middleware.cli.main import load_or_exit
    from middleware.media.aigc import Stamp
    from middleware.media.apply import LabelOptions, apply
    from middleware.media.image_label import LabelStyle, missing_glyphs

    cfg = load_or_exit(getattr(args, "config", None))
    data = _read(args.file)
    if data is None:
        return 2
    producer = producer_code(cfg, args.producer)
    if missing_glyphs(args.text):
        print(f"candor: the shipped label font has no glyphs for {missing_glyphs(args.text)!r}", file=sys.stderr)
        return 2
    style = LabelStyle(text=args.text, placement=args.placement, corner=args.corner, height=args.height)
    content_id = args.id or "candor-" + uuid.uuid4().hex
    try:
        result = apply(data, LabelOptions(Stamp(producer, producer, content_id), style))
    except MediaError as exc:
        print(f"candor: {args.file}: {exc}", file=sys.stderr)
        return 2
    Path(args.out).write_bytes(result.data)
    summary = {"file": args.file, "out": args.out, **result.summary()}
    sys.stdout.write(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode() + "\n")
    if result.delegated:
        print(f"candor: the explicit label was not applied: {result.delegated}", file=sys.stderr)
    return 0


def add_label_commands(subparsers: Any) -> None:
    label = subparsers.add_parser("label", help="AIGC labels on image and audio files (LABEL-IMPLICIT-1)")
    verbs = label.add_subparsers(dest="label_command", metavar="VERB", required=True)
    inspect = verbs.add_parser("inspect", help="print the labels a file carries as JSON (exit 1: none)")
    inspect.add_argument("file")
    inspect.set_defaults(func=_inspect)
    apply = verbs.add_parser("apply", help="label a file: visible or rhythm label, and the implicit label")
    apply.add_argument("file")
    apply.add_argument("--out", required=True, help="where to write the labelled file")
    apply.add_argument("--producer", help="ContentProducer/ContentPropagator (default: operator.code or name)")
    apply.add_argument("--id", help="ProduceID/PropagateID (default: a fresh unique id)")
    apply.add_argument("--text", default="AI生成", help="the visible label on images (default: AI生成)")
    apply.add_argument("--placement", choices=("corner", "band"), default="corner")
    apply.add_argument("--corner", choices=("bottom_right", "bottom_left", "top_right", "top_left"),
                       default="bottom_right")
    apply.add_argument("--height", type=float, default=0.06,
                       help="glyph height as a share of the shortest side (>= 0.05, LABEL-IMAGE-1)")
    apply.set_defaults(func=_apply)
