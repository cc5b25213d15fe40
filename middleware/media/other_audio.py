"""FLAC and Ogg (Opus, Vorbis): the implicit label as a ``AIGC`` Vorbis comment (mutagen).

Candor has no encoder for these here, so the rhythm label cannot be put in front of the sound: the
caller records the explicit label as delegated (``label_delegated``) instead of claiming it.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import mutagen

from middleware.media import aigc
from middleware.media.errors import MediaError


def _open(data: bytes) -> tuple[Any, io.BytesIO]:
    buf = io.BytesIO(data)
    try:
        audio = mutagen.File(buf)
    except Exception as exc:   # mutagen raises one error type per format
        raise MediaError(f"the audio file cannot be read: {exc}") from exc
    if audio is None:
        raise MediaError("the audio file is not FLAC or Ogg")
    if audio.tags is None:
        audio.add_tags()
    return audio, buf


def read(data: bytes) -> dict[str, Any]:
    audio, _ = _open(data)
    values = audio.tags.get("AIGC") or audio.tags.get("aigc")
    raw = str(values[0]) if values else None
    return {"aigc": aigc.loads(raw) if raw else None, "aigc_raw": raw,
            "seconds": float(getattr(audio.info, "length", 0.0))}


def label_tagged(data: bytes, fmt: str,
                 implicit_for: Callable[[dict[str, Any] | None], dict[str, str]]) -> tuple[bytes, dict[str, Any]]:
    audio, buf = _open(data)
    values = audio.tags.get("AIGC")
    existing = aigc.loads(str(values[0])) if values else None
    label = implicit_for(existing)
    audio.tags["AIGC"] = aigc.dumps(label)
    try:
        buf.seek(0)   # mutagen read the file through this buffer; it writes the tags back through it
        audio.save(buf)
    except Exception as exc:
        raise MediaError(f"the {fmt} file's tags cannot be written: {exc}") from exc
    return buf.getvalue(), {"format": fmt, "implicit": label, "upstream_label": existing, "explicit": None,
                            "explicit_delegated": f"no {fmt} encoder here to put the rhythm label in front"}
