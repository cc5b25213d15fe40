"""YAML documents that remember where each key was written, and validation errors that point there.

Operators edit ``candor.yaml`` and the policy files by hand. When something is wrong they need the
file, the line and the key, every problem at once, and a hint when a key is misspelt.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

Loc = tuple[str | int, ...]
# libyaml's loader when PyYAML was built with it: ~10x faster, which keeps a policy reload cheap
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a file, located as precisely as the file allows."""

    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        key = f" {self.key}:" if self.key else ""
        return f"{where}:{key} {self.message}"


class FileProblems(Exception):
    """Raised with every problem found in one or more files."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(slots=True)
class LocatedDocument:
    """A parsed YAML mapping plus the line (1-based) of every key path in it."""

    path: str
    data: dict[str, Any]
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Loc) -> int | None:
        """The line of ``loc`` or of its nearest written ancestor."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:end]))
            if line is not None:
                return line
        return None


def _walk(node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> None:
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            child = (*loc, key)
            lines[child] = key_node.start_mark.line + 1
            _walk(value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*loc, index), lines)


def parse_yaml(text: str, path: str) -> LocatedDocument:
    """Parse one YAML mapping; syntax errors become a located :class:`FileProblems`."""
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else {}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise FileProblems([Problem(path, line, "", f"YAML syntax error: {exc.problem}")]) from exc
    except yaml.YAMLError as exc:
        raise FileProblems([Problem(path, None, "", f"YAML error: {exc}")]) from exc
    finally:
        loader.dispose()
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise FileProblems([Problem(path, 1, "", "the file must be a YAML mapping of keys to values")])
    lines: dict[Loc, int] = {}
    if node is not None:
        _walk(node, (), lines)
    return LocatedDocument(path=path, data=data, lines=lines)


def load_yaml_file(path: str | Path) -> LocatedDocument:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise FileProblems([Problem(str(p), None, "", "file not found")]) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise FileProblems([Problem(str(p), None, "", f"cannot read the file: {exc}")]) from exc
    return parse_yaml(text, str(p))


def _unwrap(annotation: Any) -> list[Any]:
    """The concrete classes an annotation may hold (through Optional, Union, list, dict)."""
    origin = get_origin(annotation)
    if origin is None:
        return [annotation]
    out: list[Any] = []
    for arg in get_args(annotation):
        out.extend(_unwrap(arg))
    return out


def fields_at(model: type[BaseModel], loc: Loc) -> list[str]:
    """The field names valid at ``loc`` inside ``model`` (for "did you mean" hints)."""
    candidates: list[Any] = [model]
    for part in loc:
        nxt: list[Any] = []
        for cand in candidates:
            if isinstance(part, int) or not (isinstance(cand, type) and issubclass(cand, BaseModel)):
                # list index or dict key: descend into the item type of a container annotation
                nxt.append(cand)
                continue
            info = cand.model_fields.get(part)
            if info is None:
                for f in cand.model_fields.values():
                    if f.alias == part:
                        info = f
                        break
            if info is not None:
                nxt.extend(_unwrap(info.annotation))
        candidates = [c for c in nxt if isinstance(c, type) and issubclass(c, BaseModel)]
        if not candidates:
            return []
    names: list[str] = []
    for cand in candidates:
        names.extend(f.alias or n for n, f in cand.model_fields.items())
    return names


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def problems_from_validation(
    exc: ValidationError, doc: LocatedDocument, model: type[BaseModel], prefix: Loc = ()
) -> list[Problem]:
    """Turn a pydantic error into located, operator-friendly problems."""
    problems: list[Problem] = []
    for err in exc.errors():
        loc: Loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        full = (*prefix, *loc)
        kind = err["type"]
        msg = err["msg"]
        if kind == "extra_forbidden":
            valid = fields_at(model, loc[:-1])
            bad = str(loc[-1])
            close = difflib.get_close_matches(bad, valid, n=1, cutoff=0.6)
            msg = f"unknown key {bad!r}"
            if close:
                msg += f"; did you mean {close[0]!r}?"
            elif valid:
                msg += f"; valid keys here: {', '.join(sorted(valid))}"
        elif kind == "missing":
            msg = "this key is required"
        elif kind.startswith("value_error"):
            msg = msg.removeprefix("Value error, ")
        elif kind.endswith("_type") or kind.endswith("_parsing"):
            got = err.get("input")
            msg = f"{msg} (got {got!r})" if got is not None and not isinstance(got, dict | list) else msg
        problems.append(Problem(doc.path, doc.line_of(full), _dotted(full), msg))
    return problems
