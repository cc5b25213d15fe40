"""Images and speech through LiteLLM (adapters/media/via_litellm.py), on a stand-in for LiteLLM's module
(the real import takes tens of seconds and is exercised end to end): what each call is given, edits with
one or several images and a mask, LiteLLM's errors in Candor's terms, and audio bytes with their type."""

from __future__ import annotations

import dataclasses
import types
from typing import Any

import pytest

import adapters.upstream.via_litellm as chat_litellm
from adapters.media import via_litellm
from adapters.media.via_litellm import LiteLLMMediaUpstream
from middleware.media.upstream import ImageRequest, SpeechRequest, Upload
from middleware.pipeline.upstream import UpstreamFailure, UpstreamTimeout
from middleware.testing import ROUTE

ROUTE_LT = dataclasses.replace(ROUTE, adapter="litellm", target="vertex_ai/imagen", api_base="https://p.test",
                               api_key="k", options={"vertex_project": "p1"})


class Timeout(Exception):
    pass


class APIConnectionError(Exception):
    pass


class StatusError(Exception):
    status_code = 429
    message = "quota"


class FakeLiteLLM:
    exceptions = types.SimpleNamespace(Timeout=Timeout, APIConnectionError=APIConnectionError)

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail: Exception | None = None
        self.speech_content: Any = b"ID3audio"

    async def _call(self, name: str, kwargs: dict[str, Any]) -> Any:
        self.calls.append((name, kwargs))
        if self.fail is not None:
            raise self.fail
        if name == "aspeech":
            return types.SimpleNamespace(content=self.speech_content)
        return {"data": [{"b64_json": "AA=="}]}

    async def aimage_generation(self, **kw: Any) -> Any:
        return await self._call("aimage_generation", kw)

    async def aimage_edit(self, **kw: Any) -> Any:
        return await self._call("aimage_edit", kw)

    async def aspeech(self, **kw: Any) -> Any:
        return await self._call("aspeech", kw)


@pytest.fixture
def lt(monkeypatch: pytest.MonkeyPatch) -> FakeLiteLLM:
    fake = FakeLiteLLM()
    monkeypatch.setattr(via_litellm, "load_litellm", lambda: fake)
    monkeypatch.setattr(chat_litellm, "load_litellm", lambda: fake)
    return fake


async def test_generations_get_the_target_options_and_known_keys_only(lt: FakeLiteLLM) -> None:
    body = {"model": "m", "prompt": "sea", "n": 2, "size": "1024x1024", "quality": None, "seed": 7}
    assert await LiteLLMMediaUpstream().images(ImageRequest(ROUTE_LT, "generations", body)) == \
        {"data": [{"b64_json": "AA=="}]}
    name, kw = lt.calls[0]
    assert name == "aimage_generation" and kw["model"] == "vertex_ai/imagen" and kw["prompt"] == "sea"
    assert kw["n"] == 2 and kw["size"] == "1024x1024" and "quality" not in kw and "seed" not in kw
    assert (kw["api_base"], kw["api_key"], kw["vertex_project"], kw["timeout"]) == \
        ("https://p.test", "k", "p1", ROUTE.timeout)


async def test_edits_pass_one_image_or_a_list_and_the_mask(lt: FakeLiteLLM) -> None:
    up = LiteLLMMediaUpstream()
    one = [Upload("image", "a.png", b"A", "image/png"), Upload("mask", "m.png", b"M", "image/png")]
    await up.images(ImageRequest(ROUTE_LT, "edits", {"prompt": "x"}, one))
    kw = lt.calls[-1][1]
    assert kw["image"].read() == b"A" and kw["mask"].read() == b"M"
    two = [Upload("image[]", "a.png", b"A", "image/png"), Upload("image[]", "b.png", b"B", "image/png")]
    await up.images(ImageRequest(ROUTE_LT, "edits", {"prompt": "x"}, two))
    kw = lt.calls[-1][1]
    assert [i.read() for i in kw["image"]] == [b"A", b"B"] and "mask" not in kw


@pytest.mark.parametrize(("exc", "kind", "status"), [
    (Timeout("slow"), UpstreamTimeout, 504), (APIConnectionError("down"), UpstreamFailure, 502),
    (StatusError("quota"), UpstreamFailure, 429), (RuntimeError("odd"), UpstreamFailure, 502),
])
async def test_litellm_errors_become_candor_failures(lt: FakeLiteLLM, exc: Exception, kind: type,
                                                     status: int) -> None:
    lt.fail = exc
    with pytest.raises(kind) as err:
        await LiteLLMMediaUpstream().images(ImageRequest(ROUTE_LT, "generations", {"prompt": "x"}))
    assert err.value.status == status
    with pytest.raises(kind):
        await LiteLLMMediaUpstream().speech(SpeechRequest(ROUTE_LT, {"input": "hi"}))


async def test_speech_is_audio_bytes_typed_by_the_format(lt: FakeLiteLLM) -> None:
    up = LiteLLMMediaUpstream()
    audio = await up.speech(SpeechRequest(ROUTE_LT, {"input": "hi", "voice": "alloy", "response_format": "wav",
                                                     "speed": 1.5, "stream_format": "sse"}))
    assert (audio.content, audio.content_type) == (b"ID3audio", "audio/wav")
    kw = lt.calls[-1][1]
    assert kw["voice"] == "alloy" and kw["speed"] == 1.5 and "stream_format" not in kw
    assert (await up.speech(SpeechRequest(ROUTE_LT, {"input": "hi"}))).content_type == "audio/mpeg"
    lt.speech_content = None
    with pytest.raises(UpstreamFailure, match="no audio bytes"):
        await up.speech(SpeechRequest(ROUTE_LT, {"input": "hi"}))
