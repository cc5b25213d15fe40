"""Labelled rows in the development-set format: what training, evaluation and ``detectors eval`` read.

A row is one JSON object per line: ``{"text": ..., "label": ...}`` or ``{"messages": [...], "label": ...}``
(the OpenAI message list), optionally ``"lang"``. For a conversation the judged turn is the last user
turn on the request side (crisis, exit) and the last assistant turn on the output side; the earlier
user turns are its context.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from middleware.detectors.judgment import CONTEXT_TASKS, TASK_LABELS

_HAS_CJK = re.compile(r"[\u3400-\u9fff]")
_HAS_LATIN = re.compile(r"[A-Za-z]{2,}")


@dataclass(frozen=True, slots=True)
class Row:
    text: str
    label: str
    context: tuple[str, ...] = ()
    lang: str = ""
    line: int = 0
    source: str = ""  # the corpus's provenance tag ("handwritten", "augmented:typo", ...)
    asked: str = ""   # request side: the assistant turn right before the judged one (what it answers)


class RowError(ValueError):
    """A row that cannot be read; the message names the file and line."""


def _content(message: object) -> str:
    if not isinstance(message, dict):
        return ""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def language(text: str) -> str:
    """"zh", "en" or "mixed", for reporting figures per language when a row does not say."""
    zh, en = bool(_HAS_CJK.search(text)), bool(_HAS_LATIN.search(text))
    return "mixed" if zh and en else "zh" if zh else "en"


def parse(obj: object, task: str, where: str) -> Row:
    if not isinstance(obj, dict):
        raise RowError(f"{where}: a row must be a JSON object")
    label = obj.get("label")
    if not isinstance(label, str) or label not in TASK_LABELS[task]:
        raise RowError(f"{where}: label {label!r} is not one of {', '.join(TASK_LABELS[task])} (task {task})")
    if isinstance(obj.get("text"), str):
        text, context, asked = obj["text"], tuple[str, ...](), ""
    elif isinstance(obj.get("messages"), list) and obj["messages"]:
        messages = obj["messages"]
        role = "user" if task in CONTEXT_TASKS else "assistant"
        judged = [i for i, m in enumerate(messages) if isinstance(m, dict) and m.get("role") == role]
        if not judged and role == "assistant":  # an output-side set written as user turns
            judged = [i for i, m in enumerate(messages) if isinstance(m, dict) and m.get("role") == "user"]
        if not judged:
            raise RowError(f"{where}: no {role} turn to judge in messages")
        last = judged[-1]
        text = _content(messages[last])
        context = tuple(_content(m) for m in messages[:last]
                        if isinstance(m, dict) and m.get("role") == "user" and _content(m))
        before = messages[last - 1] if last > 0 and role == "user" else None
        asked = _content(before) if isinstance(before, dict) and before.get("role") == "assistant" else ""
    else:
        raise RowError(f"{where}: a row needs \"text\" (a string) or \"messages\" (a non-empty list)")
    lang = obj.get("lang") if isinstance(obj.get("lang"), str) else language(text)
    source = obj.get("source") if isinstance(obj.get("source"), str) else ""
    return Row(text, label, context, str(lang), int(where.rsplit(":", 1)[-1]) if ":" in where else 0, str(source),
               asked)


def read_rows(path: Path, task: str) -> list[Row]:
    return list(iter_rows(path, task))


def iter_rows(path: Path, task: str) -> Iterator[Row]:
    if task not in TASK_LABELS:
        raise RowError(f"unknown task {task!r}; known: {', '.join(TASK_LABELS)}")
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise RowError(f"{where}: not JSON ({exc.msg})") from None
            yield parse(obj, task, where)


def task_of(path: Path) -> str | None:
    """The task a file is for, from its name ("crisis.test.jsonl" -> "crisis"), if it says."""
    head = path.name.split(".", 1)[0]
    return head if head in TASK_LABELS else None
