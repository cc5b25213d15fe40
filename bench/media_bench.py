"""Media labelling, in process: what labelling one generated file costs (issue 16).

    .venv/bin/python -m bench.media_bench [--quick] [--runs N]

Each case runs ``middleware.media.apply.apply`` (decode, explicit label, implicit label, encode) on the
same input ``runs`` times on one thread, after one warm-up call, and reports p50 and p90 wall time:

- a 1024x1024 photo-like PNG (gradients and noise, as generated images are), and the same as JPEG and WebP;
- 10 s of speech-like audio as WAV (24 kHz mono 16-bit, as TTS returns it; and 44.1 kHz stereo) and as
  MP3 (24 kHz mono 64 kb/s).

Prints Markdown for bench/RESULTS.md. The proxy runs these off the event loop (a worker thread), so the
figure is added latency for that request, not for every request in flight.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import sys
import time
import wave
from collections.abc import Callable

import numpy as np
from PIL import Image

from middleware.media import aigc
from middleware.media.apply import LabelOptions, apply


def _photo(size: int) -> Image.Image:
    rng = np.random.default_rng(7)
    ys = np.linspace(0, 1, size)[:, None]
    xs = np.linspace(0, 1, size)[None, :]
    base = np.stack([255 * xs * np.ones_like(ys), 255 * ys * np.ones_like(xs), 128 + 100 * np.sin(6 * xs + 3 * ys)],
                    axis=-1)
    return Image.fromarray(np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8), "RGB")


def _image(fmt: str, size: int = 1024) -> bytes:
    buf = io.BytesIO()
    _photo(size).save(buf, fmt)
    return buf.getvalue()


def _speech(rate: int, seconds: float) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    phase = 2 * np.pi * np.cumsum(140 + 30 * np.sin(2 * np.pi * 0.7 * t)) / rate
    return 0.25 * sum(np.sin(k * phase) / k for k in range(1, 6)) * (0.5 + 0.5 * np.sin(2 * np.pi * 2.5 * t) ** 2)


def _wav(rate: int, channels: int, seconds: float = 10.0) -> bytes:
    pcm = np.round(np.repeat(_speech(rate, seconds)[:, None], channels, axis=1) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def _mp3(rate: int = 24000, seconds: float = 10.0) -> bytes:
    import lameenc

    enc = lameenc.Encoder()
    enc.set_bit_rate(64)
    enc.set_in_sample_rate(rate)
    enc.set_channels(1)
    enc.set_quality(2)
    return bytes(enc.encode(np.round(_speech(rate, seconds) * 32767).astype("<i2").tobytes()) + enc.flush())


def _measure(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.9))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.media_bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="5 runs per case")
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args(argv)
    runs = 5 if args.quick else args.runs
    options = LabelOptions(aigc.Stamp("BENCH-OP", "BENCH-OP", "bench-1"))
    cases = [
        ("PNG 1024x1024", _image("PNG")),
        ("JPEG 1024x1024", _image("JPEG")),
        ("WebP 1024x1024", _image("WEBP")),
        ("WAV 10 s, 24 kHz mono 16-bit", _wav(24000, 1)),
        ("WAV 10 s, 44.1 kHz stereo 16-bit", _wav(44100, 2)),
        ("MP3 10 s, 24 kHz mono 64 kb/s", _mp3()),
    ]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{runs} runs per case after one warm-up, one thread; Python {platform.python_version()}, "
          f"{platform.machine()}, {os.cpu_count()} CPUs, load average {load:.1f} at the start.\n")
    print("| file | bytes in | bytes out | p50 ms | p90 ms |")
    print("|---|---:|---:|---:|---:|")
    for title, data in cases:
        out = apply(data, options)
        p50, p90 = _measure(lambda data=data: apply(data, options), runs)   # type: ignore[misc]
        print(f"| {title} | {len(data)} | {len(out.data)} | {p50:.1f} | {p90:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
