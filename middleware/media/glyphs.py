"""Which characters the shipped label font can draw (checked when a policy loads, so kept free of
Pillow and numpy: policy loading should not pay for the image codecs)."""

from __future__ import annotations

import functools
from pathlib import Path

FONT_PATH = Path(__file__).parent / "fonts" / "candor-label-sans.otf"


@functools.lru_cache(maxsize=1)
def covered() -> frozenset[str]:
    """The characters the shipped font has glyphs for."""
    from fontTools.ttLib import TTFont

    cmap = TTFont(str(FONT_PATH), lazy=True).getBestCmap()
    return frozenset(chr(c) for c in cmap)


def missing_glyphs(text: str) -> str:
    have = covered()
    return "".join(sorted({c for c in text if c not in have and not c.isspace()}))
