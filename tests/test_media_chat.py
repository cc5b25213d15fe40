"""Images and audio inside chat replies (middleware/media/chat.py): WAV audio and data-URL images labelled
like the media endpoints' files; ``pcm16`` and streamed audio start with the rhythm label, recorded as
delegated for the implicit label; an image that is not a data URL is never passed on unlabelled."""

from __future__ import annotations

import base64

import pytest

from middleware.config.deployment import CandorConfig
from middleware.media.chat import PCM16_RATE, ChatMediaLabeller
from middleware.media.inspect import inspect_bytes
from middleware.media.labelling import Labeller
from middleware.pipeline.upstream import UpstreamFailure
from middleware.testing import make_exchange
from tests.media_samples import encode, photo, wav_bytes


def _chat() -> ChatMediaLabeller:
    def no_fetcher() -> None:
        raise AssertionError("chat media are data, never URLs")

    return ChatMediaLabeller(Labeller(CandorConfig(), no_fetcher))  # type: ignore[arg-type]


async def test_wav_audio_in_a_message_is_labelled_and_recorded() -> None:
    ex = make_exchange(body={"model": "m", "messages": [], "audio": {"format": "wav"}})
    raw = wav_bytes(seconds=0.5)
    msg = await _chat()(ex, {"role": "assistant", "content": None,
                             "audio": {"id": "a1", "data": base64.b64encode(raw).decode(), "transcript": "hi"}})
    out = base64.b64decode(msg["audio"]["data"])
    assert out != raw and inspect_bytes(out)["labelled"]["any"] and msg["audio"]["transcript"] == "hi"
    assert ex.decisions[-1]["rule"] == "media_labels" and ex.decisions[-1]["detail"]["in"] == "chat_reply"


async def test_pcm16_gets_the_rhythm_tone_in_front_and_a_delegated_implicit_label() -> None:
    ex = make_exchange(body={"model": "m", "messages": [], "audio": {"format": "pcm16"}})
    raw = b"\x01\x00" * 100 + b"\x07"    # an odd trailing byte is not a sample
    msg = await _chat()(ex, {"role": "assistant", "audio": {"data": base64.b64encode(raw).decode()}})
    out = base64.b64decode(msg["audio"]["data"])
    assert out.endswith(raw[:-1]) and len(out) - len(raw[:-1]) > PCM16_RATE // 10   # a tone of some length first
    assert "label_delegated" in ex.actions and ex.decisions[-1]["detail"]["explicit"] == "rhythm"


def test_only_the_first_streamed_audio_delta_of_each_choice_is_labelled() -> None:
    chat = _chat()
    ex = make_exchange(stream=True)
    data = base64.b64encode(b"\x01\x00" * 10).decode()
    chunk = {"choices": [{"index": 0, "delta": {"audio": {"data": data}}}]}
    first = chat.delta(ex, chunk)
    assert len(base64.b64decode(first["choices"][0]["delta"]["audio"]["data"])) > 20
    assert chat.delta(ex, chunk) is chunk                        # the label goes once, at the start
    text_only = {"choices": [{"index": 1, "delta": {"content": "hi"}}]}
    assert chat.delta(ex, text_only) is text_only


async def test_data_url_images_are_labelled_and_others_refused() -> None:
    ex = make_exchange()
    png = encode(photo(200, 160), "png")
    part = {"type": "image_url", "image_url": {"url": "data:image/png;base64," + base64.b64encode(png).decode()}}
    msg = await _chat()(ex, {"role": "assistant", "content": "看", "images": [part]})
    url = msg["images"][0]["image_url"]["url"]
    assert url.startswith("data:image/") and inspect_bytes(base64.b64decode(url.split(",", 1)[1]))["labelled"]["any"]
    with pytest.raises(UpstreamFailure, match="not a data URL"):
        await _chat()(make_exchange(), {"role": "assistant",
                                        "images": [{"image_url": {"url": "https://x.test/a.png"}}]})
    with pytest.raises(UpstreamFailure, match="not valid base64"):
        await _chat()(make_exchange(), {"role": "assistant", "audio": {"data": "%%%"}})
