"""The detectors' optional C speed-ups (``_features.c``, ``_fold.c``): one switch and one loader for both.

Each is built at install where a C compiler is (``hatch_build.py``) and only computes what its Python definition
computes (``features.py``, ``textnorm.py``), which serves wherever it is missing. ``CANDOR_PURE_FEATURES=1``
turns all of them off, so that the Python definitions can be run and compared on a machine that has them.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

PURE = os.environ.get("CANDOR_PURE_FEATURES", "") not in ("", "0")


def load(name: str) -> ModuleType | None:
    """The extension ``middleware.detectors.<name>``; None where it was not built or ``CANDOR_PURE_FEATURES`` is
    set. The caller configures it with its constants."""
    if PURE:
        return None
    try:
        return importlib.import_module(f"middleware.detectors.{name}")
    except ImportError:
        return None
