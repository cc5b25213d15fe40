"""``candor config check [FILE]``: every problem of a ``candor.yaml`` at once, each with its line.

Loading stops at the first category of problem (a file that does not validate has no models to route);
the check goes on as far as each part allows: the schema, then every model and app on its own (so one bad
entry does not hide the others), the environment variables they name, the policy files and the policies
the apps name. ``candor serve`` runs the same check and refuses to start with the same list.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from middleware.config.deployment import DEFAULT_POLICY, AppConfig, CandorConfig, ModelConfig, env_overrides
from middleware.config.yamlfile import FileProblems, LocatedDocument, Problem, load_yaml_file, problems_from_validation


def check_config(path: str | None, environ: Mapping[str, str] | None = None) -> list[Problem]:
    env = os.environ if environ is None else environ
    if path is None:
        doc = LocatedDocument(path="<built-in defaults>", data={})
    else:
        try:
            doc = load_yaml_file(path)
        except FileProblems as exc:
            return list(exc.problems)
    data = dict(doc.data)
    problems = env_overrides(data, dict(env))
    try:
        CandorConfig.model_validate(data)
    except ValidationError as exc:
        problems.extend(problems_from_validation(exc, doc, CandorConfig))
    seen = {(p.key, p.message) for p in problems}

    def add(loc: tuple[str | int, ...], key: str, message: str) -> None:
        dotted = ".".join(str(x) for x in loc[:1]) + "".join(f"[{x}]" if isinstance(x, int) else f".{x}"
                                                              for x in loc[1:])
        if (dotted, message) not in seen:
            seen.add((dotted, message))
            problems.append(Problem(doc.path, doc.line_of(loc) or doc.line_of(loc[:-1]), dotted, message))

    from middleware.composition import current

    for i, raw in enumerate(_entries(data, "models")):
        try:
            model = ModelConfig.model_validate(raw)
        except ValidationError:
            continue   # already reported by the whole-file validation
        found = current().model_problem(model)
        if found is not None:
            add(("models", i, found[0]), found[0], found[1])
    app_policies: list[tuple[int, str]] = []
    for i, raw in enumerate(_entries(data, "apps")):
        try:
            app = AppConfig.model_validate(raw)
        except ValidationError:
            continue
        if app.key_env and not env.get(app.key_env):
            add(("apps", i, "key_env"), "key_env", f"app {app.id!r}: environment variable {app.key_env} is not "
                "set (export the app key there, or use key_sha256)")
        app_policies.append((i, app.policy))
    problems.extend(_policy_problems(doc, data, app_policies, add))
    return problems


def _entries(data: dict[str, Any], section: str) -> list[Any]:
    value = data.get(section)
    return value if isinstance(value, list) else []


def _policy_problems(doc: LocatedDocument, data: dict[str, Any], app_policies: list[tuple[int, str]],
                     add: Callable[[tuple[str | int, ...], str, str], None]) -> list[Problem]:
    from middleware.policy.loader import index_dirs, load_policy_dirs
    from middleware.policy.registry import builtin_packs_dir

    base = Path(doc.path).resolve().parent if Path(doc.path).is_file() else Path.cwd()
    raw_dir = data.get("policies_dir", "./policies")
    if not isinstance(raw_dir, str):
        return []   # reported by the schema
    folder = Path(raw_dir).expanduser()
    folder = folder if folder.is_absolute() else base / folder
    dirs = [builtin_packs_dir(), folder]
    out: list[Problem] = []
    policies: dict[str, Any] = {}
    try:
        policies = dict(load_policy_dirs(dirs))
    except FileProblems as exc:
        out.extend(exc.problems)
    known, _ = index_dirs(dirs)
    models = {m.get("name"): m for m in _entries(data, "models") if isinstance(m, dict)}
    for i, pid in app_policies:
        if pid not in known:
            add(("apps", i, "policy"), "policy",
                f"policy {pid!r} is not in the policy directories ({', '.join(str(d) for d in dirs)}); available: "
                f"{', '.join(sorted(known)) or 'none'}")
            continue
        guard = policies[pid].detection.guard if pid in policies else None
        if guard is None:
            continue
        model = models.get(guard.model)
        if model is None:
            add(("apps", i, "policy"), "policy",
                f"policy {pid!r}: detection.guard.model {guard.model!r} is not a model in this file (models: "
                f"{', '.join(sorted(str(n) for n in models)) or 'none'})")
        elif str(model.get("target", "")).startswith("candor/"):
            add(("apps", i, "policy"), "policy",
                f"policy {pid!r}: detection.guard.model {guard.model!r} is the offline demo model, not a guard")
    if not app_policies and DEFAULT_POLICY not in known:
        out.append(Problem(doc.path, None, "", f"the default policy {DEFAULT_POLICY!r} is not loaded"))
    return out


def report(path: str | None, problems: list[Problem], *, starting: bool = False) -> str:
    where = path or "the built-in defaults"
    head = "candor: cannot start: " if starting else "candor: "
    lines = [f"{head}{where} has {len(problems)} problem(s):", *(f"  {p}" for p in problems)]
    return "\n".join(lines)


def add_config_commands(subparsers: Any) -> None:
    config = subparsers.add_parser("config", help="the deployment config (candor.yaml)")
    verbs = config.add_subparsers(dest="config_command", metavar="VERB", required=True)
    check = verbs.add_parser("check", help="report every problem of candor.yaml at once (exit 1 on any)")
    check.add_argument("file", nargs="?", help="the file (default: --config, $CANDOR_CONFIG, ./candor.yaml)")
    check.set_defaults(func=_check_command)


def _check_command(args: Any) -> int:
    import sys

    from middleware.config.deployment import find_config

    path = args.file or find_config(getattr(args, "config", None))
    if path is not None and not Path(path).is_file():
        print(f"candor: {path}: file not found", file=sys.stderr)
        return 1
    problems = check_config(path)
    if problems:
        print(report(path, problems), file=sys.stderr)
        return 1
    print(f"{path or 'the built-in defaults'}: ok")
    return 0
