"""``candor detectors eval FILE.jsonl [--task T]`` (contract 6.1): the command's own parser and handler
(middleware/detectors/cli.py) in process, and once through the real CLI entry point."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from middleware.cli.main import main
from middleware.detectors.cli import EVAL_TASKS, add_detectors_commands
from middleware.detectors.judgment import TASK_LABELS


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


ROWS = [
    {"text": "我想自杀", "label": "explicit_intent"},
    {"text": "I want to kill myself tonight", "label": "explicit_intent"},
    {"text": "笑死我了", "label": "none"},
    {"messages": [{"role": "user", "content": "活着没意思，药都攒够了"}, {"role": "assistant", "content": "我在听"},
                  {"role": "user", "content": "那就今晚吧"}], "label": "explicit_intent"},
    {"text": "I feel completely hopeless", "label": "distress"},
]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """``candor detectors eval ARGS`` through the module's own sub-parser and handler, in process."""
    parser = argparse.ArgumentParser(prog="candor")
    add_detectors_commands(parser.add_subparsers(dest="command"))

    def go(*args: str) -> tuple[int, str, str]:
        ns = parser.parse_args(["detectors", "eval", *args])
        code = ns.func(ns)
        out = capsys.readouterr()
        return code, out.out, out.err
    return go


def test_every_task_of_the_layer_can_be_evaluated() -> None:
    assert set(EVAL_TASKS) == set(TASK_LABELS)


def test_eval_prints_precision_recall_f1_per_label(tmp_path: Path, run: Callable[..., tuple[int, str, str]]) -> None:
    path = _write(tmp_path / "mine.jsonl", ROWS)
    code, out, err = run(str(path), "--task", "crisis")
    assert code == 0, err
    assert "precision" in out and "recall" in out and "f1" in out
    assert "explicit_intent" in out and "none" in out
    assert "language zh" in out and "language en" in out


def test_eval_json_counts_the_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path / "crisis.mine.jsonl", ROWS)
    with pytest.raises(SystemExit) as done:
        main(["detectors", "eval", str(path), "--json", "--patterns-only"])
    assert done.value.code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["task"] == "crisis" and out["rows"] == 5 and out["tiers"] == ["pattern"]
    assert out["labels"]["explicit_intent"]["support"] == 3
    assert out["labels"]["explicit_intent"]["recall"] == 1.0
    assert out["context_explicit_intent_recall"] == 1.0


def test_eval_refuses_a_label_outside_the_task(tmp_path: Path, run: Callable[..., tuple[int, str, str]]) -> None:
    path = _write(tmp_path / "x.jsonl", [{"text": "hi", "label": "claim"}])
    code, _, err = run(str(path), "--task", "exit")
    assert code == 2
    assert "x.jsonl:1" in err and "'claim'" in err


def test_eval_needs_a_task(tmp_path: Path, run: Callable[..., tuple[int, str, str]]) -> None:
    path = _write(tmp_path / "rows.jsonl", ROWS)
    code, _, err = run(str(path))
    assert code == 2 and "--task" in err


@pytest.mark.parametrize("content", ["not json\n", '{"label": "none"}\n', '{"messages": [], "label": "none"}\n'])
def test_eval_names_the_bad_line(tmp_path: Path, content: str, run: Callable[..., tuple[int, str, str]]) -> None:
    path = tmp_path / "exit.jsonl"
    path.write_text(content, encoding="utf-8")
    code, _, err = run(str(path))
    assert code == 2 and "exit.jsonl:1" in err


def test_eval_of_a_missing_file(tmp_path: Path, run: Callable[..., tuple[int, str, str]]) -> None:
    code, _, err = run(str(tmp_path / "crisis.jsonl"))
    assert code == 2 and "no such file" in err


def test_errors_lists_every_row_judged_wrong_with_its_line(tmp_path: Path,
                                                          run: Callable[..., tuple[int, str, str]]) -> None:
    # two rows labelled against what any crisis detector says: a plain statement of intent marked `none`, and a
    # joke marked `explicit_intent`; the others are labelled as the layer judges them
    rows = [*ROWS, {"text": "I am going to kill myself tonight, I have the pills ready", "label": "none"},
            {"text": "this traffic is killing me lol", "label": "explicit_intent"}]
    path = _write(tmp_path / "mine.jsonl", rows)
    code, out, err = run(str(path), "--task", "crisis", "--errors")
    assert code == 0, err
    listed = out.split("rows judged wrong: ", 1)[1]
    assert listed.startswith(f"2 of {len(rows)}")
    assert "line 6: none judged explicit_intent: I am going to kill myself tonight" in listed
    assert "line 7: explicit_intent judged none: this traffic is killing me lol" in listed
    assert "line 4" not in listed   # the conversation, judged right, is not listed

    code, out, err = run(str(path), "--task", "crisis", "--errors", "--json")
    assert code == 0, err
    errors = json.loads(out)["errors"]
    assert [(e["line"], e["label"], e["predicted"]) for e in errors] == [
        (6, "none", "explicit_intent"), (7, "explicit_intent", "none")]

    code, out, _ = run(str(path), "--task", "crisis")
    assert "rows judged wrong" not in out   # only when asked


def test_errors_list_one_short_line_per_row_whatever_its_text(tmp_path: Path,
                                                              run: Callable[..., tuple[int, str, str]]) -> None:
    """A wrong row's text is shown on one line and cut short: line breaks, tabs, a bidi override and 20,000 characters
    in an operator's file cannot break or flood the listing."""
    rows = [{"text": "I will kill myself tonight\nline two\twith a tab \u202eevil", "label": "none"},
            {"text": "I am going to end my life tonight " + "x" * 20_000, "label": "none"}]
    path = _write(tmp_path / "odd.jsonl", rows)
    code, out, err = run(str(path), "--task", "crisis", "--errors")
    assert code == 0, err
    listed = out.split("rows judged wrong: ", 1)[1].splitlines()
    assert listed[0] == "2 of 2"
    assert len(listed) == 3   # the count, then one line per wrong row
    assert listed[1].startswith("  line 1: none judged explicit_intent: I will kill myself tonight line two with a tab")
    assert listed[2].endswith("…") and len(listed[2]) < 250
