"""The layout keeps its promises (issue 10): every module under ``middleware/`` and ``adapters/`` is imported
by at least one test file (a unit test reaches it in process, not only through a proxy subprocess), and no
benchmark ships inside the packages (benchmarks live in ``bench/``)."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("middleware", "adapters")


def package_modules() -> list[str]:
    """Dotted names of every module under the packages, ``__init__`` excluded."""
    out: list[str] = []
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            if parts[-1] != "__init__":
                out.append(".".join(parts))
    return out


def imported_by_tests() -> set[str]:
    """Every name a test file imports: ``import X`` gives X; ``from X import Y`` gives X and X.Y."""
    names: set[str] = set()
    for path in (REPO / "tests").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_scan_sees_the_packages_and_the_tests() -> None:
    modules = package_modules()
    assert "middleware.pipeline.exchange" in modules and "adapters.root" in modules
    assert "middleware.__init__" not in modules
    assert "middleware.testing" in imported_by_tests()


def test_every_engine_and_adapter_module_is_imported_by_a_test() -> None:
    imported = imported_by_tests()
    missing = [m for m in package_modules() if m not in imported]
    assert not missing, "modules no test file imports (write a unit test for each):\n  " + "\n  ".join(missing)


def test_no_benchmark_ships_inside_the_packages() -> None:
    benches = [m for m in package_modules() if any("bench" in part for part in m.split("."))]
    assert not benches, f"benchmarks belong in bench/, not in the wheel: {benches}"
