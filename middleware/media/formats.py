"""What a file is, from its first bytes (never from a name or a content type a provider claims)."""

from __future__ import annotations

IMAGE_FORMATS = ("png", "jpeg", "webp")
AUDIO_FORMATS = ("wav", "mp3", "flac", "ogg")
MEDIA_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp", "wav": "audio/wav",
               "mp3": "audio/mpeg", "flac": "audio/flac", "ogg": "audio/ogg", "aac": "audio/aac",
               "pcm": "audio/pcm"}


def _mp3_frame(data: bytes, at: int) -> bool:
    """An MPEG audio frame header at ``at``: sync bits, a layer, and a usable bitrate and sample rate."""
    if len(data) < at + 4 or data[at] != 0xFF or (data[at + 1] & 0xE0) != 0xE0:
        return False
    layer = (data[at + 1] >> 1) & 3
    bitrate = data[at + 2] >> 4
    rate = (data[at + 2] >> 2) & 3
    return layer != 0 and bitrate not in (0, 15) and rate != 3


def sniff(data: bytes) -> str | None:
    """``png``, ``jpeg``, ``webp``, ``wav``, ``mp3``, ``flac``, ``ogg``, ``aac`` or None."""
    head = data[:12]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(b"ID3"):
        return "mp3"
    if head.startswith(b"fLaC"):
        return "flac"
    if head.startswith(b"OggS"):
        return "ogg"
    if len(data) >= 2 and data[0] == 0xFF and (data[1] & 0xF6) == 0xF0:
        return "aac"   # ADTS: sync, layer 00
    if _mp3_frame(data, 0):
        return "mp3"
    return None
