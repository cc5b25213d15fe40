"""WAV: the rhythm label before the first sample and the implicit label in a RIFF chunk ``AIGC``.

No library writes an arbitrary RIFF chunk (the standard ``wave`` module drops every chunk it does not
know and reads PCM only; mutagen writes only an ``id3 `` chunk), so the container is handled here: every
chunk of the original is kept in order, the ``data`` chunk gets the label's samples in front (in the
file's own sample rate, channel count and sample format: 8/16/24/32-bit PCM, 32/64-bit float,
``WAVE_FORMAT_EXTENSIBLE`` of those), ``fact`` is updated, and ``AIGC`` goes before ``data``.
Streamed WAVs whose header says 0 or 0xFFFFFFFF bytes of data are read to the end of the file.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from middleware.media import aigc, rhythm
from middleware.media.errors import MediaError

_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE


@dataclass(frozen=True, slots=True)
class WavFormat:
    code: int        # 1 PCM, 3 IEEE float
    channels: int
    rate: int
    bits: int

    @property
    def frame_bytes(self) -> int:
        return self.channels * self.bits // 8


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The file's chunks (id, payload) in order; raises MediaError for what is not a WAV file."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise MediaError("not a RIFF/WAVE file" + (" (RF64 is not supported)" if data[:4] == b"RF64" else ""))
    out: list[tuple[bytes, bytes]] = []
    at = 12
    while at + 8 <= len(data):
        cid, size = data[at:at + 4], struct.unpack_from("<I", data, at + 4)[0]
        start = at + 8
        if cid == b"data" and (size in (0, 0xFFFFFFFF) or start + size > len(data)):
            size = len(data) - start          # a streamed WAV: the data runs to the end of the file
        if start + size > len(data):
            raise MediaError(f"the WAV chunk {cid!r} claims {size} bytes but the file ends first")
        out.append((cid, data[start:start + size]))
        at = start + size + (size & 1)
    return out


def parse_format(payload: bytes) -> WavFormat:
    if len(payload) < 16:
        raise MediaError("the WAV fmt chunk is too short")
    code, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", payload)
    if code == _EXTENSIBLE and len(payload) >= 26:
        code = struct.unpack_from("<H", payload, 24)[0]
    if channels < 1 or rate < 1000 or (code, bits) not in {(_PCM, 8), (_PCM, 16), (_PCM, 24), (_PCM, 32),
                                                           (_FLOAT, 32), (_FLOAT, 64)}:
        raise MediaError(f"WAV format {code} with {bits}-bit samples, {channels} channel(s) at {rate} Hz "
                         "cannot be labelled (PCM 8/16/24/32-bit and float 32/64-bit can)")
    return WavFormat(code, channels, rate, bits)


def encode_samples(mono: np.ndarray, fmt: WavFormat) -> bytes:
    """Mono float samples in [-1, 1] as interleaved frames of ``fmt``."""
    frames = np.repeat(mono[:, None], fmt.channels, axis=1).reshape(-1)
    if fmt.code == _FLOAT:
        return frames.astype("<f4" if fmt.bits == 32 else "<f8").tobytes()
    if fmt.bits == 8:
        return np.clip(np.round(frames * 127 + 128), 0, 255).astype(np.uint8).tobytes()
    if fmt.bits == 24:
        ints = np.round(frames * 8388607).astype("<i4")
        return ints.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    dtype, scale = ("<i2", 32767) if fmt.bits == 16 else ("<i4", 2147483647)
    return np.round(frames * scale).astype(dtype).tobytes()


def decode_mono(payload: bytes, fmt: WavFormat, seconds: float | None = None) -> np.ndarray:
    """The first ``seconds`` of ``payload`` as mono float samples (channels averaged)."""
    n = len(payload) // fmt.frame_bytes
    if seconds is not None:
        n = min(n, round(seconds * fmt.rate))
    raw = payload[: n * fmt.frame_bytes]
    if fmt.code == _FLOAT:
        x = np.frombuffer(raw, "<f4" if fmt.bits == 32 else "<f8").astype(np.float64)
    elif fmt.bits == 8:
        x = (np.frombuffer(raw, np.uint8).astype(np.float64) - 128) / 128
    elif fmt.bits == 24:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        x = ((b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)) << 8 >> 8) / 8388608.0
    else:
        x = np.frombuffer(raw, "<i2" if fmt.bits == 16 else "<i4").astype(np.float64) / (2 ** (fmt.bits - 1))
    return np.asarray(x.reshape(-1, fmt.channels).mean(axis=1))


def _pack(cid: bytes, payload: bytes) -> bytes:
    return cid + struct.pack("<I", len(payload)) + payload + (b"\0" if len(payload) & 1 else b"")


def read(data: bytes) -> dict[str, Any]:
    """What a WAV file carries: format, duration, the AIGC chunk, whether it starts with the rhythm label."""
    parts = dict(chunks(data))
    if b"fmt " not in parts or b"data" not in parts:
        raise MediaError("the WAV file has no fmt or no data chunk")
    fmt = parse_format(parts[b"fmt "])
    raw = parts.get(b"AIGC")
    text = raw.rstrip(b"\0").decode("ascii", "replace") if raw is not None else None
    samples = decode_mono(parts[b"data"], fmt, rhythm.DURATION + 0.3)
    return {"format": fmt, "seconds": len(parts[b"data"]) / fmt.frame_bytes / fmt.rate,
            "aigc_raw": text, "aigc": aigc.loads(text) if text else None,
            "rhythm_label": rhythm.detect(samples, fmt.rate)}


def label_wav(data: bytes, implicit_for: Callable[[dict[str, Any] | None], dict[str, str]],
              explicit: bool = True) -> tuple[bytes, dict[str, Any]]:
    """The file with the rhythm label in front (unless ``explicit`` is False) and the AIGC chunk."""
    parts = chunks(data)
    found = dict(parts)
    if b"fmt " not in found or b"data" not in found:
        raise MediaError("the WAV file has no fmt or no data chunk")
    fmt = parse_format(found[b"fmt "])
    old = found.get(b"AIGC")
    existing = aigc.loads(old.rstrip(b"\0")) if old else None
    label = implicit_for(existing)
    prefix = encode_samples(rhythm.tone(fmt.rate), fmt) if explicit else b""
    added_frames = len(prefix) // fmt.frame_bytes
    body: list[bytes] = []
    for cid, payload in parts:
        if cid == b"AIGC":
            continue
        if cid == b"data":
            body.append(_pack(b"AIGC", aigc.dumps(label).encode("ascii")))
            usable = len(payload) - len(payload) % fmt.frame_bytes
            body.append(_pack(b"data", prefix + payload[:usable]))
        elif cid == b"fact" and len(payload) >= 4:
            frames = struct.unpack_from("<I", payload)[0] + added_frames
            body.append(_pack(b"fact", struct.pack("<I", frames & 0xFFFFFFFF) + payload[4:]))
        else:
            body.append(_pack(cid, payload))
    riff = b"WAVE" + b"".join(body)
    out = b"RIFF" + struct.pack("<I", len(riff)) + riff
    seconds = (len(found[b"data"]) // fmt.frame_bytes) / fmt.rate
    return out, {"format": "wav", "implicit": label, "upstream_label": existing,
                 "explicit": {"kind": "rhythm", "pattern": rhythm.PATTERN, "seconds": round(rhythm.DURATION, 3)}
                 if explicit else None,
                 "audio": {"rate": fmt.rate, "channels": fmt.channels, "bits": fmt.bits,
                           "seconds": round(seconds, 3)}}
