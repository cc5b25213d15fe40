"""Media Candor cannot label: the reply is refused rather than delivered without its labels."""

from __future__ import annotations


class MediaError(ValueError):
    """The file is not what it claims, is damaged, or is a kind Candor cannot label."""
