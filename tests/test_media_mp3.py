"""MP3 files labelled: rhythm label frames in front of the provider's frames, ID3v2 TXXX AIGC, the
file's other tags kept; checked with mutagen and miniaudio on files LAME produced."""

from __future__ import annotations

import io
from typing import Any

import miniaudio
import numpy as np
import pytest
from mutagen.id3 import ID3, TIT2, TXXX
from mutagen.mp3 import MP3

from middleware.media import aigc, mp3, rhythm
from middleware.media.errors import MediaError
from tests.media_samples import mp3_bytes

STAMP = aigc.Stamp("OP", "OP", "e1")


def _label(existing: dict[str, Any] | None) -> dict[str, str]:
    return aigc.label_for(existing, STAMP)


def _decode(data: bytes, rate: int) -> np.ndarray:
    d = miniaudio.decode(data, output_format=miniaudio.SampleFormat.SIGNED16, nchannels=1, sample_rate=rate)
    return np.asarray(d.samples, dtype=np.float64) / 32768


@pytest.mark.parametrize(("rate", "channels", "kbps"), [(24000, 1, 64), (44100, 2, 128), (48000, 2, 192),
                                                        (16000, 1, 32), (22050, 2, 96)])
def test_lame_files_get_the_label_in_front_and_the_id3_frame(rate: int, channels: int, kbps: int) -> None:
    src = mp3_bytes(rate, channels, 1.5, kbps)
    out, detail = mp3.label_mp3(src, _label)
    assert out.endswith(src)
    grew = MP3(io.BytesIO(out)).info.length - MP3(io.BytesIO(src)).info.length
    assert rhythm.DURATION <= grew <= rhythm.DURATION + 0.15
    assert ID3(io.BytesIO(out))["TXXX:AIGC"].text[0] == aigc.dumps(detail["implicit"])
    assert rhythm.detect(_decode(out, rate), rate) and not rhythm.detect(_decode(src, rate), rate)
    assert mp3.read(out)["rhythm_label"] is True and detail["explicit_delegated"] is None


def test_existing_tags_stay_and_an_upstream_label_is_propagated() -> None:
    src = io.BytesIO(mp3_bytes())
    tags = ID3()
    tags.add(TIT2(encoding=3, text=["晚安故事"]))
    tags.add(TXXX(encoding=3, desc="AIGC", text=['{"Label":"1","ContentProducer":"TTS-VENDOR","ProduceID":"t-1",'
                                                 '"ReservedCode1":"","ContentPropagator":"","PropagateID":"",'
                                                 '"ReservedCode2":""}']))
    tags.save(src)
    out, detail = mp3.label_mp3(src.getvalue(), _label)
    back = ID3(io.BytesIO(out))
    assert str(back["TIT2"].text[0]) == "晚安故事"
    assert len(back.getall("TXXX:AIGC")) == 1
    assert detail["implicit"]["ContentProducer"] == "TTS-VENDOR" and detail["implicit"]["ContentPropagator"] == "OP"


def test_without_the_explicit_label_only_the_tag_changes() -> None:
    src = mp3_bytes()
    out, detail = mp3.label_mp3(src, _label, explicit=False)
    assert out.endswith(src) and detail["explicit"] is None
    assert MP3(io.BytesIO(out)).info.length == pytest.approx(MP3(io.BytesIO(src)).info.length, abs=0.01)


def test_an_id3v1_tag_stays_at_the_end() -> None:
    v1 = b"TAG" + b"title".ljust(30, b"\0") + b"\0" * 95
    out, _ = mp3.label_mp3(mp3_bytes() + v1, _label)
    assert out.endswith(v1)


@pytest.mark.parametrize("data", [b"ID3\x04\0\0\0\0\0\x10" + b"\0" * 16 + b"garbage", b"\xff\xfb" + b"\0" * 10])
def test_what_is_not_mp3_audio_is_refused(data: bytes) -> None:
    with pytest.raises(MediaError):
        mp3.label_mp3(data, _label)
