"""One entry point: label any supported file, explicit and implicit, and say exactly what was done.

| format | explicit label | implicit label |
|---|---|---|
| PNG, JPEG, WebP | visible text (LABEL-IMAGE-1) | XMP ``TC260:AIGC`` (+ PNG ``tEXt`` ``AIGC``) |
| WAV | rhythm label in front (LABEL-AUDIO-1) | RIFF chunk ``AIGC`` |
| MP3 | rhythm label frames in front | ID3v2 ``TXXX`` ``AIGC`` |
| FLAC, Ogg | delegated (no encoder here) | Vorbis comment ``AIGC`` |

Anything else, and any file that does not decode, raises ``MediaError``: Candor never passes on a file
it was asked to label without its labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from middleware.media import aigc, images, mp3, other_audio, wav
from middleware.media.errors import MediaError
from middleware.media.formats import AUDIO_FORMATS, IMAGE_FORMATS, MEDIA_TYPES, sniff
from middleware.media.image_label import LabelStyle

Kind = Literal["image", "audio"]


@dataclass(frozen=True, slots=True)
class LabelOptions:
    stamp: aigc.Stamp
    image_style: LabelStyle = field(default_factory=LabelStyle)
    explicit: bool = True        # False: an unlabelled delivery (LABEL-UNLABELED-1); the implicit label stays


@dataclass(frozen=True, slots=True)
class Labelled:
    data: bytes
    format: str
    media_type: str
    implicit: dict[str, str]
    explicit: dict[str, Any] | None          # what was drawn or played, None when not applied
    delegated: str | None                    # why the explicit label was not applied (explicit is None)
    upstream_label: dict[str, Any] | None    # the label the file already had (kept, LABEL-TAMPER-1)
    detail: dict[str, Any]

    def summary(self) -> dict[str, Any]:
        """For the reply's ``compliance`` and the audit decision (no content)."""
        return {"format": self.format, "explicit": self.explicit, "implicit": self.implicit,
                "delegated": self.delegated, "upstream_label": self.upstream_label}


def apply(data: bytes, options: LabelOptions, expect: Kind | None = None) -> Labelled:
    fmt = sniff(data)
    if fmt is None:
        raise MediaError("the file is not a PNG, JPEG, WebP, WAV, MP3, FLAC or Ogg file")
    if expect == "image" and fmt not in IMAGE_FORMATS:
        raise MediaError(f"an image was expected but the file is {fmt.upper()}")
    if expect == "audio" and fmt not in AUDIO_FORMATS:
        raise MediaError(f"audio was expected but the file is {fmt.upper()}"
                         + (" (raw AAC has no metadata container for the implicit label)" if fmt == "aac" else ""))

    def implicit_for(existing: dict[str, Any] | None) -> dict[str, str]:
        return aigc.label_for(existing, options.stamp)

    detail: dict[str, Any]
    if fmt in IMAGE_FORMATS:
        out, detail = images.label_image(data, fmt, implicit_for, options.image_style if options.explicit else None)
    elif fmt == "wav":
        out, detail = wav.label_wav(data, implicit_for, options.explicit)
    elif fmt == "mp3":
        out, detail = mp3.label_mp3(data, implicit_for, options.explicit)
    elif fmt in ("flac", "ogg"):
        out, detail = other_audio.label_tagged(data, fmt, implicit_for)
    else:
        raise MediaError(f"{fmt.upper()} files cannot be labelled by Candor")
    delegated = detail.get("explicit_delegated")
    if not options.explicit:
        delegated = None
    return Labelled(data=out, format=fmt, media_type=MEDIA_TYPES[fmt], implicit=detail["implicit"],
                    explicit=detail.get("explicit"), delegated=delegated,
                    upstream_label=detail.get("upstream_label"), detail=detail)
