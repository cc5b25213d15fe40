"""The ``candor`` command."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from middleware.config.deployment import CandorConfig, find_config, load_config
from middleware.config.yamlfile import FileProblems

Register = Callable[[argparse._SubParsersAction], None]  # type: ignore[type-arg]


def load_or_exit(explicit: str | None) -> CandorConfig:
    path = find_config(explicit)
    try:
        return load_config(path)
    except FileProblems as exc:
        where = path or "the built-in defaults"
        print(f"candor: the configuration in {where} has {len(exc.problems)} problem(s):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        raise SystemExit(2) from None


def _serve(args: argparse.Namespace) -> int:
    # CLI flags are applied as the environment overrides they are equivalent to, so that every worker
    # process (each loads the config itself) sees the same values.
    for flag, env in (("host", "CANDOR_SERVER_HOST"), ("port", "CANDOR_SERVER_PORT"),
                      ("workers", "CANDOR_SERVER_WORKERS")):
        value = getattr(args, flag)
        if value is not None:
            os.environ[env] = str(value)
    from middleware.config.check import check_config, report

    path = find_config(args.config)
    problems = check_config(path)   # every problem at once, not one category per restart
    if problems:
        print(report(path, problems, starting=True), file=sys.stderr)
        raise SystemExit(2)   # as for any command whose config does not load
    cfg = load_or_exit(args.config)
    if cfg.source:
        os.environ["CANDOR_CONFIG"] = cfg.source
    from middleware.composition import current

    return current().serve(cfg)


def _version() -> str:
    from middleware import __version__

    return __version__


def build_parser(extra: list[Register] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="candor", description="Compliance proxy for human-like AI chat.")
    parser.add_argument("--version", action="version", version=f"candor {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = sub.add_parser("serve", help="run the proxy")
    serve.add_argument("--config", help="deployment config (default: $CANDOR_CONFIG, ./candor.yaml, built-in)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.set_defaults(func=_serve)
    for register in extra if extra is not None else _commands():
        register(sub)
    parser.add_argument("--config", help="deployment config (default: $CANDOR_CONFIG, ./candor.yaml, built-in)")
    _config_everywhere(parser)
    return parser


def _config_everywhere(parser: argparse.ArgumentParser) -> None:
    """Every command reads its config from ``--config`` (contract section 1), before or after the verb."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                if not any("--config" in a.option_strings for a in child._actions):
                    child.add_argument("--config", default=argparse.SUPPRESS,
                                       help="deployment config (default: $CANDOR_CONFIG, ./candor.yaml, built-in)")
                _config_everywhere(child)


def _commands() -> list[Register]:
    from middleware.cli.commands import registered

    return registered()


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        raise SystemExit(2)
    raise SystemExit(args.func(args))


if __name__ == "__main__":
    main()
