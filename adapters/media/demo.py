"""``candor-demo`` for images and speech: offline answers so ``candor serve`` on its defaults can show
media labelling without a provider account. The image is a gradient picked from the prompt; the speech
is a short melody (not a voice: no TTS ships with Candor) in the requested format, WAV or MP3."""

from __future__ import annotations

import base64
import hashlib
import io
import time
from typing import Any

import numpy as np
from PIL import Image

from middleware.media.upstream import Audio, ImageRequest, SpeechRequest
from middleware.pipeline.upstream import UpstreamFailure

_RATE = 24000


def demo_image(prompt: str, size: str | None) -> bytes:
    width, height = 1024, 1024
    if size and "x" in size:
        w, _, h = size.partition("x")
        if w.isdigit() and h.isdigit():
            width, height = max(64, min(int(w), 2048)), max(64, min(int(h), 2048))
    seed = hashlib.sha256(prompt.encode()).digest()
    a, b = np.array(list(seed[:3]), dtype=np.float32), np.array(list(seed[3:6]), dtype=np.float32)
    ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    xs = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :, None]
    pixels = a * (1 - (xs + ys) / 2) + b * ((xs + ys) / 2)
    buf = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8), "RGB").save(buf, "PNG")
    return buf.getvalue()


def demo_speech(text: str, fmt: str) -> Audio:
    notes = [220.0 * 2 ** ((b % 12) / 12) for b in hashlib.sha256(text.encode()).digest()[:8]]
    t = np.arange(int(_RATE * 0.25)) / _RATE
    mono = np.concatenate([0.3 * np.sin(2 * np.pi * f * t) * np.hanning(len(t)) for f in notes])
    pcm = np.round(mono * 32767).astype("<i2")
    if fmt == "wav":
        import wave

        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(_RATE)
            w.writeframes(pcm.tobytes())
        return Audio(buf.getvalue(), "audio/wav")
    if fmt == "mp3":
        import lameenc

        enc = lameenc.Encoder()
        enc.set_bit_rate(64)
        enc.set_in_sample_rate(_RATE)
        enc.set_channels(1)
        enc.set_quality(2)
        return Audio(bytes(enc.encode(pcm.tobytes()) + enc.flush()), "audio/mpeg")
    raise UpstreamFailure(f"the demo model speaks mp3 and wav only, not {fmt!r}", status=400, code="invalid_request")


class DemoMediaUpstream:
    async def aclose(self) -> None:
        return None

    async def images(self, request: ImageRequest) -> dict[str, Any]:
        body = request.body
        prompt = str(body.get("prompt", ""))
        if request.files:
            prompt += hashlib.sha256(request.files[0].content).hexdigest()
        n = int(body.get("n") or 1)
        data = [{"b64_json": base64.b64encode(demo_image(f"{prompt}#{i}", body.get("size"))).decode(),
                 "revised_prompt": prompt} for i in range(n)]
        return {"created": int(time.time()), "data": data}

    async def speech(self, request: SpeechRequest) -> Audio:
        return demo_speech(str(request.body.get("input", "")), str(request.body.get("response_format") or "mp3"))
