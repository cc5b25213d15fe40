"""What labels a file carries, per location: what ``candor label inspect`` prints.

The implicit label is read from every place the TC260 guide puts it for the format. The explicit
label is looked for in the content itself, where that can be done without guessing: Candor's own
visible label is re-rendered and compared with the pixels (at the place the file's XMP says, else at
every place Candor's default styles use), and the rhythm label is found by its tones. A file whose
explicit label cannot be checked says so (``detectable: false``) instead of claiming either way.
"""

from __future__ import annotations

from typing import Any

from middleware.media import aigc, images, mp3, other_audio, wav
from middleware.media.errors import MediaError
from middleware.media.formats import IMAGE_FORMATS, sniff
from middleware.media.image_label import LabelBox, candidates, match


def _implicit(value: dict[str, Any] | None, raw: str | None) -> dict[str, Any]:
    if raw is None:
        return {"found": False}
    if value is None:
        return {"found": True, "valid": False, "raw": raw, "problems": ["not a JSON object"]}
    problems = aigc.problems(value)
    return {"found": True, "valid": not problems, "value": value, "problems": problems}


def _box(hint: dict[str, Any]) -> LabelBox | None:
    try:
        x, y, w, h = (int(v) for v in hint["box"])
        return LabelBox(x, y, w, h, int(hint["text_height"]), int(hint["font_size"]), str(hint["text"]),
                        str(hint.get("placement", "corner")))
    except (KeyError, TypeError, ValueError):
        return None


def _image(data: bytes, fmt: str) -> dict[str, Any]:
    im = images.open_image(data, fmt)
    found = images.read_implicit(im)
    locations: dict[str, Any] = {"xmp": _implicit(found.xmp, found.xmp_raw)}
    if fmt == "png":
        locations["png_text"] = _implicit(found.text_chunk, found.text_raw)
    tried: list[LabelBox] = []
    hinted = _box(found.hint) if found.hint else None
    if hinted is not None:
        tried.append(hinted)
    tried += candidates(im.width, im.height)
    rgb = im.convert("RGB")
    explicit: dict[str, Any] = {"kind": "visible_text", "detectable": True, "present": False,
                                "method": "Candor's label re-rendered and compared with the pixels"}
    for box in tried:
        diff = match(rgb, box)
        if diff is not None:
            explicit.update(present=True, where=box.as_dict(), mean_difference=diff,
                            text_height_ratio=round(box.text_height / min(im.width, im.height), 4))
            break
    if not explicit["present"] and hinted is None:
        explicit["note"] = "no Candor label found; a label drawn by another tool cannot be read without OCR"
    return {"format": fmt, "width": im.width, "height": im.height, "implicit": locations, "explicit": explicit}


def _rhythm(present: bool) -> dict[str, Any]:
    return {"kind": "rhythm", "detectable": True, "present": present,
            "method": "1 kHz tones short-long short-short (Morse AI) at the start"}


def _c2pa(data: bytes, fmt: str) -> dict[str, Any]:
    """A C2PA manifest, when the optional ``c2pa-python`` is installed to read it."""
    try:
        from middleware.media.c2pa_sign import read_manifest
        from middleware.media.formats import MEDIA_TYPES

        store = read_manifest(data, MEDIA_TYPES[fmt])
    except ImportError:
        return {"checked": False, "reason": "c2pa-python is not installed (pip install 'candor[c2pa]')"}
    if store is None:
        return {"checked": True, "found": False}
    active = store.get("manifests", {}).get(store.get("active_manifest"), {})
    actions = [a for assertion in active.get("assertions", [])
               if str(assertion.get("label", "")).startswith("c2pa.actions")
               for a in assertion.get("data", {}).get("actions", [])]
    return {"checked": True, "found": True, "validation_state": store.get("validation_state"),
            "actions": actions, "claim_generator": active.get("claim_generator_info")}


def inspect_bytes(data: bytes) -> dict[str, Any]:
    """The report for one file; raises MediaError when the file is not a supported, readable format."""
    fmt = sniff(data)
    if fmt is None:
        raise MediaError("not a PNG, JPEG, WebP, WAV, MP3, FLAC or Ogg file")
    if fmt in IMAGE_FORMATS:
        report = _image(data, fmt)
    elif fmt == "wav":
        r = wav.read(data)
        report = {"format": fmt, "seconds": round(r["seconds"], 3),
                  "implicit": {"riff_chunk": _implicit(r["aigc"], r["aigc_raw"])},
                  "explicit": _rhythm(r["rhythm_label"])}
    elif fmt == "mp3":
        r = mp3.read(data)
        report = {"format": fmt, "seconds": round(r["seconds"], 3),
                  "implicit": {"id3_txxx": _implicit(r["aigc"], r["aigc_raw"])}, "explicit": _rhythm(r["rhythm_label"])}
    elif fmt in ("flac", "ogg"):
        r = other_audio.read(data)
        report = {"format": fmt, "seconds": round(r["seconds"], 3),
                  "implicit": {"vorbis_comment": _implicit(r["aigc"], r["aigc_raw"])},
                  "explicit": {"kind": "rhythm", "detectable": False, "present": None,
                               "reason": f"Candor does not decode {fmt} to look for the rhythm label"}}
    else:
        raise MediaError(f"{fmt.upper()} files carry no metadata Candor can read")
    report["c2pa"] = _c2pa(data, fmt)
    implicit_found = any(loc.get("found") for loc in report["implicit"].values())
    report["labelled"] = {"implicit": implicit_found, "explicit": report["explicit"].get("present"),
                          "any": implicit_found or report["explicit"].get("present") is True}
    return report
