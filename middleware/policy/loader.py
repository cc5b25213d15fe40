"""Loading policy files: parse, resolve ``extends:``, validate, and report every problem at once.

A policy file may extend another (``extends: cn-anthropomorphic-2026``): the child's keys override the
parent's key by key, mappings merged deeply, lists replaced whole. Problems are reported where the value
was written, which for an inherited value is the parent's file, with the line and the key path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from middleware.config.yamlfile import (
    FileProblems,
    Loc,
    LocatedDocument,
    Problem,
    load_yaml_file,
    problems_from_validation,
)
from middleware.policy.checks import check_policy
from middleware.policy.model import Policy

PACK_SUFFIXES = (".yaml", ".yml")


def policy_files(directory: Path) -> list[Path]:
    """The policy files directly in ``directory`` (its ``tests/`` folder holds cases, not policies)."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix in PACK_SUFFIXES and p.is_file())


def dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass(slots=True)
class _Merged:
    """Policy data merged along an ``extends`` chain, remembering which file and line wrote each key."""

    path: str
    data: dict[str, Any]
    where: dict[Loc, tuple[str, int]] = field(default_factory=dict)

    def locate(self, loc: Loc) -> tuple[str, int | None]:
        for end in range(len(loc), -1, -1):
            hit = self.where.get(tuple(loc[:end]))
            if hit is not None and (end > 0 or hit[0] == self.path):
                return hit
        return self.path, None

    @classmethod
    def of(cls, doc: LocatedDocument) -> _Merged:
        return cls(doc.path, doc.data, {loc: (doc.path, line) for loc, line in doc.lines.items()})

    def extended_by(self, doc: LocatedDocument) -> _Merged:
        where = dict(self.where)
        data = _merge(self.data, doc.data, (), where)
        where.update({loc: (doc.path, line) for loc, line in doc.lines.items()})
        return _Merged(doc.path, data, where)


def _merge(base: dict[str, Any], over: dict[str, Any], prefix: Loc, where: dict[Loc, tuple[str, int]]
           ) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        old = out.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            out[key] = _merge(old, value, (*prefix, key), where)
            continue
        if key in out:
            # the parent's value is replaced whole: forget where its parts were written
            gone = (*prefix, key)
            for loc in [loc for loc in where if len(loc) > len(gone) and loc[:len(gone)] == gone]:
                del where[loc]
        out[key] = value
    return out


class _Resolver:
    """Resolves policies by id from an index of files, parsing each file at most once."""

    def __init__(self, index: dict[str, Path]) -> None:
        self.index = index
        self.problems: list[Problem] = []
        self._seen: set[Problem] = set()
        self._docs: dict[Path, LocatedDocument | None] = {}
        self._merged: dict[str, _Merged | None] = {}
        self._policies: dict[str, Policy | None] = {}

    def report(self, problems: Iterable[Problem]) -> None:
        for p in problems:
            if p not in self._seen:
                self._seen.add(p)
                self.problems.append(p)

    def _doc(self, path: Path) -> LocatedDocument | None:
        if path not in self._docs:
            try:
                self._docs[path] = load_yaml_file(path)
            except FileProblems as exc:
                self.report(exc.problems)
                self._docs[path] = None
        return self._docs[path]

    def _merge_chain(self, pid: str, chain: tuple[str, ...]) -> _Merged | None:
        if pid in self._merged:
            return self._merged[pid]
        doc = self._doc(self.index[pid])
        result: _Merged | None = None
        if doc is not None:
            result = self._extend(pid, doc, chain)
        self._merged[pid] = result
        return result

    def _extend(self, pid: str, doc: LocatedDocument, chain: tuple[str, ...]) -> _Merged | None:
        own_id = doc.data.get("id")
        if own_id is not None and own_id != pid:
            self.report([Problem(doc.path, doc.line_of(("id",)), "id",
                                 f"id {own_id!r} does not match the file name {Path(doc.path).name!r}: "
                                 f"name the file {own_id}{Path(doc.path).suffix} or write id: {pid}")])
        parent = doc.data.get("extends")
        if parent is None:
            return _Merged.of(doc)
        line = doc.line_of(("extends",))
        if not isinstance(parent, str):
            self.report([Problem(doc.path, line, "extends", "extends must name a policy id (or be null)")])
            return None
        if parent in chain or parent == pid:
            cycle = " -> ".join((*chain, pid, parent))
            self.report([Problem(doc.path, line, "extends", f"extends cycle: {cycle}")])
            return None
        if parent not in self.index:
            known = ", ".join(sorted(self.index)) or "none"
            self.report([Problem(doc.path, line, "extends",
                                 f"extends {parent!r}, but there is no policy with that id (looked for "
                                 f"{parent}.yaml beside it and in the built-in packs; known: {known})")])
            return None
        base = self._merge_chain(parent, (*chain, pid))
        if base is None:
            self.report([Problem(doc.path, line, "extends",
                                 f"the parent policy {parent!r} has errors (reported for its file); "
                                 f"fix them first")])
            return None
        return base.extended_by(doc)

    def policy(self, pid: str) -> Policy | None:
        if pid in self._policies:
            return self._policies[pid]
        merged = self._merge_chain(pid, ())
        result = None if merged is None else self._validate(merged)
        self._policies[pid] = result
        return result

    def _validate(self, merged: _Merged) -> Policy | None:
        try:
            policy = Policy.model_validate(merged.data)
        except ValidationError as exc:
            lines = {loc: line for loc, (_, line) in merged.where.items()}
            shown = problems_from_validation(exc, LocatedDocument(merged.path, merged.data, lines), Policy)
            located = []
            for err, prob in zip(exc.errors(), shown, strict=True):
                loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
                path, line = merged.locate(loc)
                located.append(Problem(path, line, prob.key, prob.message))
            self.report(located)
            return None
        findings = check_policy(policy)
        if findings:
            self.report(Problem(*merged.locate(loc), dotted(loc), msg) for loc, msg in findings)
            return None
        return policy


def index_dirs(dirs: Sequence[Path]) -> tuple[dict[str, Path], list[Problem]]:
    """Policy id -> file over ``dirs``; a later directory's file overrides an earlier one with the same id."""
    index: dict[str, Path] = {}
    problems: list[Problem] = []
    for directory in dirs:
        here: dict[str, Path] = {}
        for path in policy_files(directory):
            if path.stem in here:
                problems.append(Problem(str(path), None, "", f"two files define policy {path.stem!r} in one "
                                        f"directory ({here[path.stem].name} and {path.name}): keep one"))
                continue
            here[path.stem] = path
        index.update(here)
    return index, problems


def load_policy_dirs(dirs: Sequence[Path]) -> dict[str, Policy]:
    """Every policy in ``dirs`` (built-in packs first, then the operator's), resolved and validated.

    Raises :class:`FileProblems` with every problem of every file when any file is wrong."""
    index, problems = index_dirs(dirs)
    resolver = _Resolver(index)
    resolver.report(problems)
    policies: dict[str, Policy] = {}
    for pid in sorted(index):
        policy = resolver.policy(pid)
        if policy is not None:
            policies[pid] = policy
    if resolver.problems:
        raise FileProblems(resolver.problems)
    return policies


def load_policy_file(path: str | Path, search_dirs: Sequence[Path] = ()) -> Policy:
    """One policy file, its ``extends:`` parent looked up beside it, then in ``search_dirs``.

    Raises :class:`FileProblems` with every problem (the file's and its parents')."""
    file = Path(path)
    if not file.is_file():
        raise FileProblems([Problem(str(file), None, "", "file not found")])
    if file.suffix not in PACK_SUFFIXES:
        raise FileProblems([Problem(str(file), None, "", "a policy file ends in .yaml or .yml")])
    index, _ = index_dirs([*search_dirs, file.parent])
    index[file.stem] = file
    resolver = _Resolver(index)
    policy = resolver.policy(file.stem)
    if resolver.problems or policy is None:
        raise FileProblems(resolver.problems)
    return policy
