"""The offline ``candor-demo`` media model (adapters/media/demo.py): a deterministic gradient per prompt at
the requested size (clamped), and a short melody in WAV or MP3; other formats are a 400."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from adapters.media.demo import DemoMediaUpstream, demo_image, demo_speech
from middleware.media.formats import sniff
from middleware.media.upstream import ImageRequest, SpeechRequest, Upload
from middleware.pipeline.upstream import UpstreamFailure
from middleware.testing import ROUTE


def test_images_are_deterministic_per_prompt_and_sized_within_bounds() -> None:
    a, b = demo_image("a cat", "64x96"), demo_image("a dog", "64x96")
    assert a == demo_image("a cat", "64x96") and a != b and sniff(a) == "png"
    assert Image.open(io.BytesIO(a)).size == (64, 96)
    assert Image.open(io.BytesIO(demo_image("x", "10x5000"))).size == (64, 2048)   # clamped
    assert Image.open(io.BytesIO(demo_image("x", "big"))).size == (1024, 1024)      # unreadable: the default


@pytest.mark.parametrize(("fmt", "ctype"), [("wav", "audio/wav"), ("mp3", "audio/mpeg")])
def test_speech_is_a_melody_in_the_asked_format(fmt: str, ctype: str) -> None:
    audio = demo_speech("你好", fmt)
    assert audio.content_type == ctype and sniff(audio.content) == fmt
    assert audio.content == demo_speech("你好", fmt).content != demo_speech("再见", fmt).content


def test_other_speech_formats_are_a_400() -> None:
    with pytest.raises(UpstreamFailure) as err:
        demo_speech("hi", "opus")
    assert err.value.status == 400


async def test_the_upstream_answers_n_images_and_edits_depend_on_the_upload() -> None:
    up = DemoMediaUpstream()
    reply = await up.images(ImageRequest(ROUTE, "generations", {"prompt": "sea", "n": 2, "size": "64x64"}))
    images = [base64.b64decode(d["b64_json"]) for d in reply["data"]]
    assert len(images) == 2 and images[0] != images[1] and reply["data"][0]["revised_prompt"] == "sea"
    upload = Upload("image", "a.png", b"\x89PNG...", "image/png")
    edited = await up.images(ImageRequest(ROUTE, "edits", {"prompt": "sea", "size": "64x64"}, [upload]))
    assert base64.b64decode(edited["data"][0]["b64_json"]) != images[0]
    speech = await up.speech(SpeechRequest(ROUTE, {"input": "hi"}))
    assert speech.content_type == "audio/mpeg"   # mp3 unless asked otherwise
    await up.aclose()
