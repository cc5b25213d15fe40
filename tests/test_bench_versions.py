"""``python -m bench.versions``: a commit is exported and served by its own entry point and packs, with
this checkout's harness; the table says which commit is which; ``--write`` keeps it across bench runs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bench import versions
from bench.procs import BenchError
from bench.report import splice_section
from bench.servers import entry_point, proxy_command
from bench.settings import REPO, SCENARIOS, Settings
from tests.bench_support import reserved_ports  # noqa: F401  (the fixture, autouse)

pytestmark = pytest.mark.skipif(
    shutil.which("git") is None or subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"],
                                                  capture_output=True).returncode != 0,
    reason="bench.versions exports commits from this checkout's git history (no git repository here)")


def test_an_exported_commit_is_served_by_its_own_entry_point(tmp_path: Path) -> None:
    v = versions.export("HEAD", tmp_path / "tree")
    assert (v.source / "pyproject.toml").is_file() and (v.source / "policies").is_dir()
    assert not (v.source / ".git").exists()
    assert entry_point(v.source) == entry_point(REPO)   # this checkout's own declaration, read from the tree
    argv = proxy_command(tmp_path / "candor.yaml", 1, v.source)
    module, _, func = entry_point(v.source).partition(":")
    assert f"from {module} import {func}" in argv[2] and argv[3:5] == ["serve", "--config"]
    # the featuriser's C speed-up is built in the exported tree, as its install would build it (git archive has no
    # build products), wherever this checkout has it built
    from middleware.detectors import features

    built = list((v.source / "middleware" / "detectors").glob("_features*.so"))
    if features._compiled is not None:
        assert built and "not compiled" not in v.subject
    else:
        assert not built and "featuriser not compiled" in v.subject


def test_a_tree_without_a_candor_script_is_refused(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "other"\n')
    with pytest.raises(BenchError, match="declares no `candor` script"):
        entry_point(tmp_path)


def test_an_unknown_commit_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="no-such-rev"):
        versions.export("no-such-rev", tmp_path / "tree")


def test_a_commit_is_measured_through_its_own_proxy(tmp_path: Path) -> None:
    settings = Settings(requests=20, warmup=2, pin=False, scenarios=[SCENARIOS[0]])
    found, direct = versions.measure(settings, ["HEAD"], rounds=1, log=lambda _: None)
    (v,) = found
    assert [r.requests for r in v.runs["nonstream_c1"]] == [20]
    assert [r.requests for r in direct["nonstream_c1"]] == [20]
    # the packs ran: a first turn was disclosed (between 01:00 and 05:00 Beijing time the CN pack's late-night
    # dependence reminder comes with it: the list is not asserted whole)
    assert "notices ['ai_disclosure'" in v.policy
    table = versions.render(settings, found, direct, 1, "python -m bench.versions HEAD")
    assert f"| Scenario | Metric | Direct | `{v.commit}` |" in table.splitlines()
    assert "| Non-streaming, 1 in flight | latency p50 |" in table


def test_the_table_replaces_its_own_section_and_nothing_else() -> None:
    text = "# Results\n\n## Targets\n\nrow\n\n## Before and after, commit by commit\n\nold\n\n## Later\n\nkept\n"
    new = splice_section(text, "Before and after, commit by commit", "## Before and after, commit by commit\n\nnew\n")
    assert "old" not in new and "new" in new
    assert new.index("## Targets") < new.index("new") < new.index("## Later") and new.endswith("kept\n")
    appended = splice_section("# Results\n", "Before and after, commit by commit", "## Before and after\n\nx\n")
    assert appended == "# Results\n\n## Before and after\n\nx\n"
