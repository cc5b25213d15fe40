"""WAV files labelled: rhythm label in front in the file's own format, AIGC RIFF chunk, other chunks
kept; checked with the standard ``wave`` module, scipy and mutagen."""

from __future__ import annotations

import io
import struct
import wave
from typing import Any

import mutagen.wave
import numpy as np
import pytest
from scipy.io import wavfile

from middleware.media import aigc, rhythm, wav
from middleware.media.errors import MediaError
from tests.media_samples import wav_bytes

STAMP = aigc.Stamp("OP", "OP", "e1")


def _label(existing: dict[str, Any] | None) -> dict[str, str]:
    return aigc.label_for(existing, STAMP)


def _chunk_ids(data: bytes) -> list[bytes]:
    ids, at = [], 12
    while at + 8 <= len(data):
        cid, size = data[at:at + 4], struct.unpack_from("<I", data, at + 4)[0]
        ids.append(cid)
        at += 8 + size + (size & 1)
    return ids


@pytest.mark.parametrize(("rate", "channels", "width"), [(24000, 1, 2), (44100, 2, 2), (22050, 1, 1),
                                                         (48000, 2, 3), (16000, 1, 4), (8000, 2, 2)])
def test_pcm_files_from_the_wave_module(rate: int, channels: int, width: int) -> None:
    src = wav_bytes(rate, channels, 1.0, width)
    out, detail = wav.label_wav(src, _label)
    with wave.open(io.BytesIO(src)) as a, wave.open(io.BytesIO(out)) as b:
        assert (b.getframerate(), b.getnchannels(), b.getsampwidth()) == (rate, channels, width)
        added = b.getnframes() - a.getnframes()
        assert added == round(rhythm.DURATION * rate)
        old = a.readframes(a.getnframes())
        new = b.readframes(b.getnframes())
    assert new.endswith(old)                                # the sound itself is untouched
    assert mutagen.wave.WAVE(io.BytesIO(out)).info.length == pytest.approx(1.0 + rhythm.DURATION, abs=1e-3)
    report = wav.read(out)
    assert report["rhythm_label"] and report["aigc"] == detail["implicit"]
    assert not wav.read(src)["rhythm_label"]
    assert _chunk_ids(out) == [b"fmt ", b"AIGC", b"data"]


@pytest.mark.filterwarnings("ignore:Chunk .non-data. not understood")  # scipy skips the AIGC chunk, as it should
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_float_files_from_scipy(dtype: str) -> None:
    buf = io.BytesIO()
    samples = (np.random.default_rng(1).normal(0, 0.1, (24000, 2))).astype(dtype)
    wavfile.write(buf, 24000, samples)
    out, _ = wav.label_wav(buf.getvalue(), _label)
    rate, back = wavfile.read(io.BytesIO(out))
    head = round(rhythm.DURATION * rate)
    assert back.dtype == np.dtype(dtype) and np.array_equal(back[head:], samples)
    assert np.allclose(back[:head, 0], rhythm.tone(rate), atol=1e-6)


def test_other_chunks_are_kept_and_an_upstream_label_propagated() -> None:
    src = wav_bytes(16000, 1, 0.5)
    upstream = b'{"Label":"1","ContentProducer":"TTS-VENDOR","ProduceID":"v-7","ReservedCode1":"",' \
               b'"ContentPropagator":"","PropagateID":"","ReservedCode2":""}'
    listing = b"INFOISFT" + struct.pack("<I", 6) + b"vendor"
    extra = b"LIST" + struct.pack("<I", len(listing)) + listing + b"AIGC" + struct.pack("<I", len(upstream)) + upstream
    body = src[12:]
    data = b"RIFF" + struct.pack("<I", 4 + len(extra) + len(body)) + b"WAVE" + extra + body
    out, detail = wav.label_wav(data, _label)
    assert _chunk_ids(out) == [b"LIST", b"fmt ", b"AIGC", b"data"]
    assert detail["implicit"]["ContentProducer"] == "TTS-VENDOR" and detail["implicit"]["ContentPropagator"] == "OP"
    assert wav.read(out)["aigc"]["ProduceID"] == "v-7"


def test_a_streamed_wav_with_an_unknown_data_size_is_read_to_the_end() -> None:
    src = bytearray(wav_bytes(24000, 1, 0.5))
    at = bytes(src).index(b"data")
    struct.pack_into("<I", src, at + 4, 0xFFFFFFFF)
    struct.pack_into("<I", src, 4, 0xFFFFFFFF)
    out, _ = wav.label_wav(bytes(src), _label)
    with wave.open(io.BytesIO(out)) as w:
        assert w.getnframes() == 12000 + round(rhythm.DURATION * 24000)


def test_without_the_explicit_label_the_length_is_unchanged() -> None:
    src = wav_bytes(24000, 1, 0.5)
    out, detail = wav.label_wav(src, _label, explicit=False)
    assert detail["explicit"] is None and wav.read(out)["aigc"] == detail["implicit"]
    with wave.open(io.BytesIO(out)) as w:
        assert w.getnframes() == 12000


@pytest.mark.parametrize(("data", "needle"), [
    (b"RIFX\0\0\0\0WAVE", "not a RIFF/WAVE"),
    (b"RIFF\x20\0\0\0WAVEfmt \x10\0\0\0\x01\0", "file ends first"),
    (b"RIFF\x0c\0\0\0WAVEdata\0\0\0\0", "no fmt"),
    (b"RIFF\x24\0\0\0WAVEfmt \x10\0\0\0\x02\0\x01\0\x40\x1f\0\0\x80\x3e\0\0\x02\0\x04\0data\0\0\0\0",
     "cannot be labelled"),
])
def test_damaged_or_unsupported_files_are_refused(data: bytes, needle: str) -> None:
    with pytest.raises(MediaError, match=needle):
        wav.label_wav(data, _label)
