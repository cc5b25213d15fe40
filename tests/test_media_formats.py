"""What a file is, from its first bytes (middleware/media/formats.py), never from its name or claimed type."""

from __future__ import annotations

import pytest

from middleware.media.formats import MEDIA_TYPES, sniff
from tests.media_samples import encode, mp3_bytes, plain, wav_bytes


@pytest.mark.parametrize(("data", "fmt"), [
    (encode(plain((1, 2, 3), 8, 8), "png"), "png"),
    (encode(plain((1, 2, 3), 8, 8), "jpeg"), "jpeg"),
    (encode(plain((1, 2, 3), 8, 8), "webp"), "webp"),
    (wav_bytes(seconds=0.05), "wav"),
    (mp3_bytes(seconds=0.1), "mp3"),
    (b"ID3\x04\x00" + b"\0" * 20, "mp3"),
    (b"\xff\xfb\x90\x64" + b"\0" * 20, "mp3"),          # a bare MPEG frame header, no ID3
    (b"fLaC" + b"\0" * 20, "flac"),
    (b"OggS" + b"\0" * 20, "ogg"),
    (b"\xff\xf1\x50\x80" + b"\0" * 20, "aac"),          # ADTS
])
def test_known_formats_are_recognised(data: bytes, fmt: str) -> None:
    assert sniff(data) == fmt and fmt in MEDIA_TYPES


@pytest.mark.parametrize("data", [b"", b"GIF89a" + b"\0" * 10, b"RIFF\0\0\0\0AVI ", b"\xff\xfb\xf0\x64",
                                  b"\xff\xfb\x9c\x64", b"<html>"])
def test_unknown_or_unusable_headers_are_none(data: bytes) -> None:
    assert sniff(data) is None
