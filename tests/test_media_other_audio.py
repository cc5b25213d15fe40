"""FLAC and Ogg (Vorbis, Opus) files made by libsndfile: the implicit label as a Vorbis comment ``AIGC``;
the explicit label is delegated (no encoder of Candor's puts the tones in front), and says so."""

from __future__ import annotations

import io

import numpy as np
import pytest

from middleware.media import aigc
from middleware.media.apply import LabelOptions, apply
from middleware.media.errors import MediaError
from middleware.media.inspect import inspect_bytes
from middleware.media.other_audio import label_tagged, read

sf = pytest.importorskip("soundfile")


@pytest.mark.parametrize(("fmt", "subtype", "rate"), [("FLAC", None, 24000), ("OGG", "VORBIS", 24000),
                                                      ("OGG", "OPUS", 48000)])
def test_the_implicit_label_goes_in_a_vorbis_comment_and_the_audio_still_decodes(fmt: str, subtype: str | None,
                                                                                 rate: int) -> None:
    samples = np.random.default_rng(0).normal(0, 0.1, rate)
    buf = io.BytesIO()
    sf.write(buf, samples, rate, format=fmt, subtype=subtype)
    before = inspect_bytes(buf.getvalue())
    assert before["labelled"]["any"] is False
    labelled = apply(buf.getvalue(), LabelOptions(aigc.Stamp("OP", "OP", "e1")), "audio")
    assert labelled.explicit is None and "no" in (labelled.delegated or "") and "encoder" in (labelled.delegated or "")
    report = inspect_bytes(labelled.data)
    assert report["implicit"]["vorbis_comment"]["value"] == labelled.implicit
    assert report["explicit"]["detectable"] is False
    back, back_rate = sf.read(io.BytesIO(labelled.data))
    assert back_rate == rate and len(back) == len(samples)


def test_a_damaged_flac_file_is_refused() -> None:
    with pytest.raises(MediaError):
        apply(b"fLaC" + b"\0" * 40, LabelOptions(aigc.Stamp("OP", "OP", "e1")), "audio")


def test_read_and_label_tagged_keep_the_upstream_label_and_say_the_explicit_one_is_delegated() -> None:
    buf = io.BytesIO()
    sf.write(buf, np.zeros(2400), 24000, format="FLAC")
    assert read(buf.getvalue())["aigc"] is None and read(buf.getvalue())["seconds"] == pytest.approx(0.1)
    seen: list[object] = []

    def implicit_for(existing: dict[str, object] | None) -> dict[str, str]:
        seen.append(existing)
        return {"Label": "1", "ContentProducer": "OP"}

    data, detail = label_tagged(buf.getvalue(), "flac", implicit_for)
    assert seen == [None] and read(data)["aigc"] == {"Label": "1", "ContentProducer": "OP"}
    assert detail["explicit"] is None and "no flac encoder" in detail["explicit_delegated"]
    _, again = label_tagged(data, "flac", implicit_for)
    assert seen[-1] == {"Label": "1", "ContentProducer": "OP"} and again["upstream_label"] == seen[-1]
    with pytest.raises(MediaError):
        read(b"not audio at all")
