"""``candor policy test DIR`` on a folder of packs finds the cases under it (as ``opa test .`` takes a tree)
instead of reading the packs as cases (issue 15)."""

from __future__ import annotations

from pathlib import Path

import pytest

from middleware.policy.cli import main

PACK = """\
id: tree-pack
extends: cn-anthropomorphic-2026
title: a pack beside its tests
labels: {text: {zh-CN: "树测试：本回复由人工智能生成", en: "Tree test: AI生成 · AI-generated"}}
"""
CASE = """\
name: the pack's own label is used
policy: tree-pack
user: {id: tree-user, age_band: adult}
turns:
  - user: 讲个笑话吧
    model: 好的。
    expect:
      label: true
      contains: [树测试：本回复由人工智能生成]
"""


def test_a_folder_of_packs_runs_the_cases_under_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "tree-pack.yaml").write_text(PACK)
    (tmp_path / "tests" / "tree-pack").mkdir(parents=True)
    (tmp_path / "tests" / "tree-pack" / "label.yaml").write_text(CASE)
    assert main(["policy", "test", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "1 passed, 0 failed" in out


def test_a_failing_case_under_the_tree_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "tree-pack.yaml").write_text(PACK)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "label.yaml").write_text(CASE.replace("树测试：本回复由人工智能生成]", "别的标签]"))
    assert main(["policy", "test", str(tmp_path)]) == 1
    assert "0 passed, 1 failed" in capsys.readouterr().out
