"""``candor policy check | explain | test``: the policy author's verbs (after Open Policy Agent)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from middleware.config.deployment import DEFAULT_POLICY, CandorConfig, find_config, load_config
from middleware.config.yamlfile import FileProblems, Problem
from middleware.policy.catalogue import CATALOGUE
from middleware.policy.explain import RULE_TITLES, explain
from middleware.policy.loader import load_policy_dirs, load_policy_file, policy_files
from middleware.policy.model import Policy
from middleware.policy.notice_durations import duration_warnings
from middleware.policy.registry import builtin_packs_dir


def add_policy_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``policy check|explain|test`` on the ``candor`` command's subparsers."""
    policy = subparsers.add_parser("policy", help="check, explain and test policy files")
    verbs = policy.add_subparsers(dest="policy_command", metavar="VERB", required=True)
    config_help = "deployment config whose policies_dir to use (default: $CANDOR_CONFIG, ./candor.yaml)"

    check = verbs.add_parser("check", help="validate policy files; exit 1 on any error")
    check.add_argument("files", nargs="+", metavar="FILE", help="policy files or directories of them")
    check.set_defaults(func=cmd_check)

    expl = verbs.add_parser("explain", help="print each rule, its parameters and the requirements it cites")
    expl.add_argument("target", nargs="?", metavar="POLICY_OR_RULE",
                      help=f"a policy id or file (default {DEFAULT_POLICY}), or a rule / requirement ID")
    expl.add_argument("rule", nargs="?", metavar="RULE", help="a rule (usage, crisis, ...) or requirement ID")
    expl.add_argument("--config", help=config_help)
    expl.set_defaults(func=cmd_explain)

    test = verbs.add_parser("test", help="run policy test cases through the pipeline, without a model")
    test.add_argument("dir", nargs="?", metavar="DIR",
                      help="a directory of cases or one case file (default: the tests/ beside the packs)")
    test.add_argument("--only", action="append", default=[], metavar="PATTERN",
                      help="run only cases whose policy id, name or path matches (repeatable)")
    test.add_argument("--config", help=config_help)
    test.add_argument("-v", "--verbose", action="store_true", help="list passing cases too")
    test.set_defaults(func=cmd_test)


def _print_problems(problems: list[Problem]) -> None:
    for problem in problems:
        print(problem, file=sys.stderr)


def _operator_dir(args: argparse.Namespace) -> Path | None:
    path = find_config(getattr(args, "config", None))
    if path is None:
        return None
    cfg: CandorConfig = load_config(path)
    return cfg.resolve_path(cfg.policies_dir)


def _dirs(args: argparse.Namespace) -> list[Path]:
    dirs = [builtin_packs_dir()]
    operator = _operator_dir(args)
    if operator is not None and operator.is_dir():
        dirs.append(operator)
    return dirs


def cmd_check(args: argparse.Namespace) -> int:
    files: list[Path] = []
    for name in args.files:
        p = Path(name)
        files.extend(policy_files(p) if p.is_dir() else [p])
    errors = 0
    for file in files:
        try:
            policy = load_policy_file(file, [builtin_packs_dir()])
        except FileProblems as exc:
            errors += 1
            _print_problems(exc.problems)
            continue
        print(f"{file}: OK ({policy.id}, {len(policy.sections())} rules, {policy.version[:19]})")
        for warning in duration_warnings(policy):
            print(f"{file}: warning: {warning}", file=sys.stderr)
    if errors:
        print(f"{errors} of {len(files)} file(s) have errors", file=sys.stderr)
    return 1 if errors or not files else 0


def cmd_explain(args: argparse.Namespace) -> int:
    try:
        policies = load_policy_dirs(_dirs(args))
    except FileProblems as exc:
        _print_problems(exc.problems)
        return 1
    target, rule = args.target, args.rule
    policy: Policy | None = None
    if target is None:
        policy = policies.get(DEFAULT_POLICY)
    elif target in policies:
        policy = policies[target]
    elif Path(target).is_file():
        try:
            policy = load_policy_file(target, _dirs(args))
        except FileProblems as exc:
            _print_problems(exc.problems)
            return 1
    elif rule is None and (target in RULE_TITLES or target.upper() in CATALOGUE):
        policy, rule = policies.get(DEFAULT_POLICY), target
    if policy is None:
        print(f"candor policy explain: {target!r} is not a loaded policy, a policy file, a rule or a "
              f"requirement ID; policies: {', '.join(sorted(policies))}", file=sys.stderr)
        return 1
    try:
        sys.stdout.write(explain(policy, rule))
    except ValueError as exc:
        print(f"candor policy explain: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    from middleware.policy.cases import load_cases
    from middleware.policy.runner import CaseRunner, select

    dirs = _dirs(args)
    roots = [Path(args.dir)] if args.dir else [d / "tests" for d in dirs if (d / "tests").is_dir()]
    given_packs = Path(args.dir) if args.dir and Path(args.dir).is_dir() and policy_files(Path(args.dir)) else None
    if given_packs is not None and given_packs.resolve() not in {d.resolve() for d in dirs}:
        dirs = [*dirs, given_packs]   # a folder of packs with their tests: the packs are what is tested
    if not roots:
        print("candor policy test: no test cases found (expected a tests/ directory beside the policies)",
              file=sys.stderr)
        return 1
    try:
        policies = load_policy_dirs(dirs)
    except FileProblems as exc:
        _print_problems(exc.problems)
        return 1
    failed = total = 0
    for root in roots:
        try:
            cases = select(load_cases(root), args.only, root)
        except FileProblems as exc:
            _print_problems(exc.problems)
            return 1
        # cases beside an operator's packs see them: the app's policies_dir is the folder above tests/
        packs = given_packs or (root.parent if root.name == "tests" else (dirs[-1] if len(dirs) > 1 else dirs[0]))
        runner = CaseRunner(packs)
        for path, case in cases:
            total += 1
            if case.policy not in policies:
                failed += 1
                print(f"FAIL {path}: {case.name}\n    policy {case.policy!r} is not loaded")
                continue
            result = asyncio.run(runner.run(path, case, policies[case.policy].timezone))
            if result.passed:
                if args.verbose:
                    print(f"ok   {path}: {case.name}")
                continue
            failed += 1
            print(f"FAIL {path}: {case.name}")
            for failure in result.failures:
                print(f"    {failure}")
    print(f"{total - failed} passed, {failed} failed" + (" (of the selected cases)" if args.only else ""))
    return 1 if failed or not total else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="candor")
    add_policy_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
