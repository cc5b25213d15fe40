"""MP3: the rhythm label as MPEG frames in front of the file's own frames, and the implicit label in an
ID3v2 ``TXXX`` frame with description ``AIGC`` (mutagen).

The label is encoded with LAME (``lameenc``) at the file's sample rate, channel count and bitrate, so
the labelled stream is one consistent stream and the original frames are copied bit for bit (no
re-encoding of the content, no quality lost). A file whose tone frames LAME cannot match gets the
implicit label only, and the caller records the explicit label as delegated. Decoding (for inspect)
uses miniaudio's dr_mp3.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np
from mutagen import id3 as _id3
from mutagen import mp3 as _mp3

from middleware.media import aigc, rhythm
from middleware.media.errors import MediaError

# mutagen is untyped: its classes are used as Any here, and what they return is checked where it is read
ID3: Any = _id3.ID3
TXXX: Any = _id3.TXXX
MP3: Any = _mp3.MP3
ID3NoHeaderError = _id3.ID3NoHeaderError

_BITRATES_V1 = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_BITRATES_V2 = (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)


class CannotEncode(MediaError):
    """The label's frames cannot be made to match this file (the implicit label still goes in)."""


def _id3_size(data: bytes) -> int:
    """Length of the ID3v2 tag at the start of ``data`` (0 when there is none)."""
    if len(data) < 10 or data[:3] != b"ID3":
        return 0
    size = 0
    for b in data[6:10]:
        size = (size << 7) | (b & 0x7F)
    footer = 10 if data[5] & 0x10 else 0
    return 10 + size + footer


def _frame_header(data: bytes, at: int) -> tuple[int, int, int] | None:
    """(frame length, sample rate, MPEG version bits) of a Layer III frame header at ``at``."""
    if at + 4 > len(data) or data[at] != 0xFF or (data[at + 1] & 0xE0) != 0xE0:
        return None
    version = (data[at + 1] >> 3) & 3        # 3: MPEG1, 2: MPEG2, 0: MPEG2.5
    layer = (data[at + 1] >> 1) & 3
    index, rate_i, pad = data[at + 2] >> 4, (data[at + 2] >> 2) & 3, (data[at + 2] >> 1) & 1
    if version == 1 or layer != 1 or index in (0, 15) or rate_i == 3:
        return None
    rate = (44100, 48000, 32000)[rate_i] // {3: 1, 2: 2, 0: 4}[version]
    kbps = (_BITRATES_V1 if version == 3 else _BITRATES_V2)[index - 1]
    length = (144 if version == 3 else 72) * kbps * 1000 // rate + pad
    return length, rate, version


def _audio_start(data: bytes) -> int:
    """Where the first real audio frame starts: after the ID3v2 tag and any Xing/Info/VBRI frame (which
    describes the old stream and would mislabel the new one's length)."""
    at = _id3_size(data)
    header = _frame_header(data, at)
    if header is None:
        raise MediaError("the MP3 file has no MPEG Layer III frame where its audio should start")
    frame = data[at:at + header[0]]
    if b"Xing" in frame[:64] or b"Info" in frame[:64] or b"VBRI" in frame[:64]:
        at += header[0]
    return at


def _tags(data: bytes) -> Any:
    try:
        return ID3(io.BytesIO(data))
    except ID3NoHeaderError:
        return ID3()
    except Exception as exc:   # mutagen raises several types for a damaged tag
        raise MediaError(f"the MP3 file's ID3 tag cannot be read: {exc}") from exc


def read_label(tags: Any) -> tuple[dict[str, Any] | None, str | None]:
    frame = tags.get("TXXX:AIGC")
    if frame is None or not frame.text:
        return None, None
    raw = str(frame.text[0])
    return aigc.loads(raw), raw


def _encode_tone(rate: int, channels: int, kbps: int) -> bytes:
    import lameenc

    enc = lameenc.Encoder()
    enc.set_bit_rate(kbps)
    enc.set_in_sample_rate(rate)
    enc.set_out_sample_rate(rate)
    enc.set_channels(channels)
    enc.set_quality(2)
    mono = np.round(rhythm.tone(rate) * 32767).astype("<i2")
    pcm = np.repeat(mono[:, None], channels, axis=1).reshape(-1).tobytes()
    return bytes(enc.encode(pcm) + enc.flush())


def _kbps_for(version: int, bitrate: int) -> int:
    table = _BITRATES_V1 if version == 3 else _BITRATES_V2
    kbps = bitrate // 1000
    return kbps if kbps in table else min(table, key=lambda b: abs(b - kbps))


def label_mp3(data: bytes, implicit_for: Callable[[dict[str, Any] | None], dict[str, str]],
              explicit: bool = True) -> tuple[bytes, dict[str, Any]]:
    try:
        info = MP3(io.BytesIO(data)).info
    except Exception as exc:   # mutagen raises HeaderNotFoundError and others for what is not MP3
        raise MediaError(f"the MP3 file cannot be read: {exc}") from exc
    start = _audio_start(data)
    header = _frame_header(data, start)
    assert header is not None
    tags = _tags(data)
    existing, _ = read_label(tags)
    label = implicit_for(existing)
    tags.delall("TXXX:AIGC")
    tags.add(TXXX(encoding=3, desc="AIGC", text=[aigc.dumps(label)]))
    prefix = b""
    delegated: str | None = None
    if explicit:
        try:
            prefix = _encode_tone(info.sample_rate, info.channels, _kbps_for(header[2], info.bitrate))
            tone_header = _frame_header(prefix, 0)
            if tone_header is None or tone_header[1:] != header[1:]:
                raise CannotEncode("the label's frames do not match the file's sample rate")
        except (CannotEncode, ImportError, RuntimeError) as exc:
            prefix, delegated = b"", str(exc)
    body = io.BytesIO(prefix + _strip_v1(data[start:]) + _v1(data))
    tags.save(body, padding=lambda _info: 0)
    out = body.getvalue()
    return out, {"format": "mp3", "implicit": label, "upstream_label": existing,
                 "explicit": {"kind": "rhythm", "pattern": rhythm.PATTERN, "seconds": round(rhythm.DURATION, 3)}
                 if prefix else None, "explicit_delegated": delegated,
                 "audio": {"rate": info.sample_rate, "channels": info.channels, "seconds": round(info.length, 3)}}


def _strip_v1(audio: bytes) -> bytes:
    return audio[:-128] if len(audio) >= 128 and audio[-128:-125] == b"TAG" else audio


def _v1(data: bytes) -> bytes:
    return data[-128:] if len(data) >= 128 and data[-128:-125] == b"TAG" else b""


def decode_head(data: bytes, seconds: float) -> tuple[np.ndarray, int] | None:
    """The first ``seconds`` as mono float samples and their rate (None when it does not decode)."""
    import miniaudio

    start = _id3_size(data)
    try:
        decoded = miniaudio.mp3_read_s16(data[start:])
    except miniaudio.DecodeError:
        return None
    rate, channels = decoded.sample_rate, decoded.nchannels
    samples = np.asarray(decoded.samples, dtype=np.float64)[: round(seconds * rate) * channels] / 32768.0
    return samples.reshape(-1, channels).mean(axis=1), rate


def read(data: bytes) -> dict[str, Any]:
    tags = _tags(data)
    label, raw = read_label(tags)
    try:
        info = MP3(io.BytesIO(data)).info
    except Exception as exc:
        raise MediaError(f"the MP3 file cannot be read: {exc}") from exc
    head = decode_head(data, rhythm.DURATION + 0.3)
    return {"aigc": label, "aigc_raw": raw, "seconds": info.length, "rate": info.sample_rate,
            "rhythm_label": bool(head is not None and rhythm.detect(*head))}


__all__ = ["label_mp3", "read"]
