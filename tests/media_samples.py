"""Sample media made by the libraries the labels are checked with (Pillow, the standard ``wave``
module, LAME through ``lameenc``): what a provider might return."""

from __future__ import annotations

import io
import wave

import lameenc
import numpy as np
from PIL import Image, PngImagePlugin

from middleware.media import xmp

PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}


def photo(width: int = 640, height: int = 480, seed: int = 1) -> Image.Image:
    """A photo-like picture: gradients, light and dark areas, and noise."""
    rng = np.random.default_rng(seed)
    ys = np.linspace(0, 1, height)[:, None]
    xs = np.linspace(0, 1, width)[None, :]
    base = np.stack([255 * xs * np.ones_like(ys), 255 * ys * np.ones_like(xs), 128 + 100 * np.sin(6 * xs + 3 * ys)],
                    axis=-1)
    noisy = base + rng.normal(0, 12, base.shape)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), "RGB")


def plain(color: tuple[int, int, int], width: int = 400, height: int = 300) -> Image.Image:
    return Image.new("RGB", (width, height), color)


def encode(im: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, PIL_FORMATS[fmt], **kwargs)
    return buf.getvalue()


def png_with_upstream_label(label: dict[str, str], im: Image.Image | None = None) -> bytes:
    """A PNG whose provider already labelled it (XMP and tEXt) and which has a text chunk of its own."""
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", xmp.packet(label))
    info.add_text("Software", "provider-x image model")
    buf = io.BytesIO()
    (im or photo(320, 240)).save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def speech_samples(rate: int = 24000, seconds: float = 2.0, seed: int = 3) -> np.ndarray:
    """Voice-like mono samples in [-1, 1]: a few harmonics with a slow envelope and some noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(rate * seconds)) / rate
    f0 = 140 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voice = sum(np.sin(k * phase) / k for k in range(1, 6)) * (0.5 + 0.5 * np.sin(2 * np.pi * 2.5 * t) ** 2)
    return np.clip(0.25 * voice + rng.normal(0, 0.01, len(t)), -1, 1)


def wav_bytes(rate: int = 24000, channels: int = 1, seconds: float = 2.0, width: int = 2) -> bytes:
    mono = speech_samples(rate, seconds)
    frames = np.repeat(mono[:, None], channels, axis=1).reshape(-1)
    if width == 1:
        raw = np.round(frames * 127 + 128).astype(np.uint8).tobytes()
    elif width == 3:
        ints = np.round(frames * 8388607).astype("<i4")
        raw = ints.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    else:
        raw = np.round(frames * (32767 if width == 2 else 2147483647)).astype("<i2" if width == 2 else "<i4").tobytes()
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(raw)
    return buf.getvalue()


def mp3_bytes(rate: int = 24000, channels: int = 1, seconds: float = 2.0, kbps: int = 64) -> bytes:
    mono = speech_samples(rate, seconds)
    pcm = np.repeat(np.round(mono * 32767).astype("<i2")[:, None], channels, axis=1).reshape(-1).tobytes()
    enc = lameenc.Encoder()
    enc.set_bit_rate(kbps)
    enc.set_in_sample_rate(rate)
    enc.set_channels(channels)
    enc.set_quality(2)
    return bytes(enc.encode(pcm) + enc.flush())
