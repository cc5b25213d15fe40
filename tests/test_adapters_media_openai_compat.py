"""Images and speech from OpenAI-compatible providers, and bounded image fetching
(adapters/media/openai_compat.py), against respx: paths, auth, multipart edits, provider errors in
Candor's terms, audio content types, and fetches bounded by scheme, size, redirects and a deadline."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
import respx

from adapters.media.openai_compat import HttpFetcher, OpenAIMediaUpstream
from middleware.media.errors import MediaError
from middleware.media.upstream import ImageRequest, SpeechRequest, Upload
from middleware.pipeline.upstream import UpstreamFailure, UpstreamTimeout
from middleware.testing import ROUTE

API = "https://provider.test/v1"
ROUTE_HTTP = dataclasses.replace(ROUTE, api_base=API + "/", api_key="sk-up")


@respx.mock
async def test_generations_post_json_with_the_key() -> None:
    call = respx.post(f"{API}/images/generations").respond(200, json={"data": [{"b64_json": "AA=="}]})
    up = OpenAIMediaUpstream()
    try:
        body = await up.images(ImageRequest(ROUTE_HTTP, "generations", {"model": "m", "prompt": "x"}))
    finally:
        await up.aclose()
    assert body == {"data": [{"b64_json": "AA=="}]}
    req = call.calls.last.request
    assert req.headers["authorization"] == "Bearer sk-up" and req.headers["content-type"] == "application/json"


@respx.mock
async def test_edits_are_multipart_with_every_upload() -> None:
    call = respx.post(f"{API}/images/edits").respond(200, json={"data": []})
    up = OpenAIMediaUpstream()
    try:
        await up.images(ImageRequest(ROUTE_HTTP, "edits", {"prompt": "x", "n": 1, "size": None},
                                     [Upload("image[]", "a.png", b"PNGDATA", "image/png"),
                                      Upload("mask", "m.png", b"MASK", "image/png")]))
    finally:
        await up.aclose()
    req = call.calls.last.request
    assert req.headers["content-type"].startswith("multipart/form-data")
    content = req.content
    assert b'name="image[]"' in content and b"PNGDATA" in content and b'name="mask"' in content
    assert b'name="prompt"' in content and b'name="size"' not in content   # None fields are not sent


@respx.mock
async def test_provider_answers_become_candor_failures() -> None:
    respx.post(f"{API}/images/generations").mock(side_effect=[
        httpx.Response(429, json={"error": {"message": "slow down"}}),
        httpx.Response(200, content=b"<html>"),
        httpx.Response(200, json=[1]),
        httpx.ReadTimeout("slow"),
        httpx.ConnectError("refused"),
    ])
    up = OpenAIMediaUpstream()
    req = ImageRequest(ROUTE_HTTP, "generations", {"prompt": "x"})
    try:
        with pytest.raises(UpstreamFailure) as err:
            await up.images(req)
        assert err.value.status == 429
        for words in ("not JSON", "unexpected body"):
            with pytest.raises(UpstreamFailure, match=words):
                await up.images(req)
        with pytest.raises(UpstreamTimeout):
            await up.images(req)
        with pytest.raises(UpstreamFailure, match="could not reach"):
            await up.images(req)
        with pytest.raises(UpstreamFailure, match="no api_base"):
            await up.images(ImageRequest(ROUTE, "generations", {"prompt": "x"}))
    finally:
        await up.aclose()


@respx.mock
async def test_speech_must_come_back_as_audio() -> None:
    respx.post(f"{API}/audio/speech").mock(side_effect=[
        httpx.Response(200, content=b"ID3...", headers={"content-type": "audio/mpeg; charset=binary"}),
        httpx.Response(200, json={"oops": True}),
    ])
    up = OpenAIMediaUpstream()
    try:
        audio = await up.speech(SpeechRequest(ROUTE_HTTP, {"input": "hi"}))
        assert (audio.content, audio.content_type) == (b"ID3...", "audio/mpeg")
        with pytest.raises(UpstreamFailure, match="instead of audio"):
            await up.speech(SpeechRequest(ROUTE_HTTP, {"input": "hi"}))
    finally:
        await up.aclose()


@respx.mock
async def test_fetches_follow_a_few_redirects_and_are_bounded() -> None:
    respx.get("https://blob.test/a.png").respond(302, headers={"location": "/b.png"})
    respx.get("https://blob.test/b.png").respond(200, content=b"x" * 10)
    respx.get("https://blob.test/big.png").respond(200, content=b"x" * 100)
    respx.get("https://blob.test/gone.png?sig=SECRET").respond(404)
    respx.get("https://blob.test/loop.png").respond(302, headers={"location": "/loop.png"})
    f = HttpFetcher()
    try:
        assert await f.fetch("https://blob.test/a.png", 50, 5) == b"x" * 10
        with pytest.raises(MediaError, match=r"larger|more than"):
            await f.fetch("https://blob.test/big.png", 50, 5)
        with pytest.raises(MediaError) as err:
            await f.fetch("https://blob.test/gone.png?sig=SECRET", 50, 5)
        assert "404" in str(err.value) and "SECRET" not in str(err.value)   # signed queries stay out of messages
        with pytest.raises(MediaError, match="redirected more than"):
            await f.fetch("https://blob.test/loop.png", 50, 5)
        with pytest.raises(MediaError, match="not http"):
            await f.fetch("file:///etc/passwd", 50, 5)
    finally:
        await f.aclose()


@respx.mock
async def test_cookies_a_provider_sets_are_never_sent_back() -> None:
    """One client serves every user: a cookie set on one user's request must not go out with the next user's."""
    call = respx.post(f"{API}/images/generations").respond(
        200, json={"data": []}, headers={"set-cookie": "__cf_bm=user-one; Path=/; Domain=provider.test"})
    up = OpenAIMediaUpstream()
    try:
        for _ in range(2):
            await up.images(ImageRequest(ROUTE_HTTP, "generations", {"model": "m", "prompt": "x"}))
    finally:
        await up.aclose()
    assert call.call_count == 2 and "cookie" not in call.calls.last.request.headers
