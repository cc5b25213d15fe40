"""Build hook: compile the detectors' C speed-ups when the wheel is built: the featuriser
(``middleware/detectors/_features.c``) and the character folding of the normalisation (``_fold.c``).

The extensions are optional. Where no C compiler is found the build says so and goes on, and the detectors
serve with their Python definitions, which give the same results: the numpy featuriser
(``middleware/detectors/features.py``) and ``str.translate`` (``textnorm.py``). ``candor serve`` says so at start,
and ``python -m bench`` reports which one ran. Compiled with setuptools'
``build_ext``, so the compiler and flags are the ones Python itself was built with. An editable install
builds it in place beside its source, where the source tree is imported from; so does ``python hatch_build.py``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

# (module, source) of each extension
EXTENSIONS = (("middleware.detectors._features", "middleware/detectors/_features.c"),
              ("middleware.detectors._fold", "middleware/detectors/_fold.c"))

try:
    from hatchling.builders.hooks.plugin.interface import BuildHookInterface
except ImportError:   # run as a script (below), where hatchling is not installed
    BuildHookInterface = object


class CustomBuildHook(BuildHookInterface):  # type: ignore[misc,valid-type]
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or os.environ.get("CANDOR_NO_EXTENSIONS"):
            return
        root = Path(self.root)
        try:
            built = _build_in_place(root)
        except Exception as exc:   # no compiler, no headers: the Python definitions serve
            print(f"candor: the detectors' C speed-ups were not built ({type(exc).__name__}: {exc}); "
                  "the numpy featuriser and str.translate serve instead", file=sys.stderr)
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        if version != "editable":
            for path in built:
                build_data["force_include"][str(path)] = path.relative_to(root).as_posix()


def _build_in_place(root: Path) -> list[Path]:
    from setuptools import Distribution, Extension
    from setuptools.command.build_ext import build_ext

    exts = [Extension(module, [source], extra_compile_args=["-O3"] if os.name != "nt" else [])
            for module, source in EXTENSIONS]
    dist = Distribution({"name": "candor-features", "ext_modules": exts})
    cwd = Path.cwd()
    os.chdir(root)   # build_ext places an in-place build by the package's path from here
    try:
        cmd = build_ext(dist)
        cmd.inplace = True
        cmd.build_temp = str(root / "build" / "features")
        cmd.ensure_finalized()
        cmd.run()
        return [root / cmd.get_ext_filename(module) for module, _ in EXTENSIONS]
    finally:
        os.chdir(cwd)


if __name__ == "__main__":   # ``python hatch_build.py``: build in place only (bench.versions, in an exported tree)
    for built in _build_in_place(Path(__file__).resolve().parent):
        print(built)
