"""End-to-end: images and audio through a running proxy (issue 16). The openai SDK calls Candor, which
calls a stub provider returning PNG, JPEG and WebP (inline and by URL), WAV and MP3; every file that
comes back carries the visible or rhythm label and the implicit AIGC label, checked with Pillow,
mutagen, miniaudio and ``candor label inspect``. Bad media is refused with 502/413 and recorded."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import miniaudio
import mutagen.mp3
import mutagen.wave
import numpy as np
import openai
import pytest
from mutagen.id3 import ID3
from PIL import Image

from middleware.cli.main import main
from middleware.media import rhythm
from tests import web
from tests.conftest import APP_KEY
from tests.media_samples import encode, mp3_bytes, photo, png_with_upstream_label, wav_bytes
from tests.media_stubs import MediaScript, MediaStub, build_media_stub
from tests.proxy import ProxyProcess
from tests.stubs import ServerThread

ADMIN = "admin-key-media"
AUDITOR = "auditor-key-media"
EU_KEY = "sk-candor-e2e-eu-app"
TC260 = "{http://www.tc260.org.cn/ns/AIGC/1.0/}AIGC"
MIN_SIDE_SHARE = 0.05


@pytest.fixture(scope="module")
def media_stub() -> Iterator[MediaStub]:
    stub = MediaStub()
    with ServerThread(build_media_stub(stub)) as server:
        stub.url = server.url
        yield stub


@pytest.fixture(autouse=True)
def _reset(media_stub: MediaStub) -> None:
    media_stub.reset()


@pytest.fixture(scope="module")
def proxy(media_stub: MediaStub, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    tmp = tmp_path_factory.mktemp("media")
    (tmp / "policies").mkdir()
    base = {"api_base": f"{media_stub.url}/v1", "api_key_env": "STUB_KEY", "timeout": "5s"}
    cfg = {
        "server": {"max_body_bytes": 65536},
        "models": [{"name": "img", "target": "openai/gpt-image-1", **base},
                   {"name": "tts", "target": "openai/gpt-4o-mini-tts", **base},
                   {"name": "voice-chat", "target": "openai/gpt-4o-audio-preview", **base},
                   {"name": "img-litellm", "target": "openai/dall-e-3", "adapter": "litellm", **base},
                   {"name": "tts-litellm", "target": "openai/tts-1", "adapter": "litellm", **base},
                   {"name": "candor-demo", "target": "candor/demo"}],
        "apps": [{"id": "media-app", "key_env": "E2E_APP_KEY"},
                 {"id": "eu-app", "key_env": "E2E_EU_KEY", "policy": "eu-ai-act-art50"}],
        "policies_dir": str(tmp / "policies"),
        "audit": {"url": f"sqlite:///{tmp}/audit.db"},
        "operator": {"name": "Example Companion Ltd", "code": "EXAMPLE-OP-001"},
        "media": {"max_upload_bytes": 300_000, "max_file_bytes": 2_000_000, "fetch_timeout": "1s"},
    }
    env = {"STUB_KEY": "sk-stub", "E2E_APP_KEY": APP_KEY, "E2E_EU_KEY": EU_KEY, "CANDOR_ADMIN_KEY": ADMIN,
           "CANDOR_AUDITOR_KEY": AUDITOR}
    p = ProxyProcess(tmp, cfg, env).start(timeout=120)   # LiteLLM's import is slow on a busy machine
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture
def client(proxy: ProxyProcess) -> openai.OpenAI:
    return web.OpenAI(base_url=proxy.url + "/v1", api_key=APP_KEY, max_retries=0, timeout=20)


def inspect_cli(tmp: Path, data: bytes, name: str) -> tuple[int, dict[str, Any]]:
    path = tmp / name
    path.write_bytes(data)
    out = io.StringIO()   # ``candor label inspect``, in process (as the entry point runs it)
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as done:
        main(["label", "inspect", str(path)])
    return int(done.value.code or 0), json.loads(out.getvalue()) if out.getvalue() else {}


def xmp_label(im: Image.Image) -> dict[str, Any]:
    """The TC260:AIGC object, read from the XMP Pillow found, parsed here independently of Candor."""
    raw = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp")
    assert raw, f"no XMP in {im.format}: {sorted(im.info)}"
    text = raw.decode() if isinstance(raw, bytes) else raw
    root = ET.fromstring(text[text.index("<x:xmpmeta"):text.rindex("</x:xmpmeta>") + len("</x:xmpmeta>")])
    found = [el.text for el in root.iter(TC260) if el.text]
    assert len(found) == 1
    return dict(json.loads(found[0]))


def changed_region(before: Image.Image, after: Image.Image) -> tuple[int, int, int, int]:
    """Bounding box (x0, y0, x1, y1) of the pixels that differ clearly (lossy re-encoding aside)."""
    a = np.asarray(before.convert("L"), dtype=np.int16)
    b = np.asarray(after.convert("L"), dtype=np.int16)
    ys, xs = np.nonzero(np.abs(a - b) > 40)
    assert len(ys), "no pixel changed: there is no visible label"
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def text_height(after: Image.Image, box: tuple[int, int, int, int]) -> int:
    """Height of the bright strokes (the label's text) inside the changed region, rim excluded."""
    x0, y0, x1, y1 = box
    inset = max(2, round((y1 - y0) * 0.12))
    region = np.asarray(after.convert("L").crop((x0 + inset, y0 + inset, x1 - inset, y1 - inset)))
    rows = np.nonzero((region > 200).any(axis=1))[0]
    return int(rows.max() - rows.min() + 1) if len(rows) else 0


def audit_events(proxy: ProxyProcess, kind: str) -> list[dict[str, Any]]:
    resp = web.get(proxy.url + "/audit/events", params={"kind": kind},
                   headers={"authorization": f"Bearer {AUDITOR}"}, timeout=10)
    assert resp.status_code == 200, resp.text
    return list(resp.json()["data"])


@pytest.mark.parametrize("as_url", [False, True], ids=["b64_json", "url"])
@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_images_come_back_labelled_visibly_and_implicitly(
        client: openai.OpenAI, media_stub: MediaStub, tmp_path: Path, fmt: str, as_url: bool) -> None:
    original = photo(640, 480)
    media_stub.push(MediaScript(encode(original, fmt), f"image/{fmt}", as_url=as_url))
    resp = client.images.generate(model="img", prompt="一只在窗边的猫", response_format="url" if as_url else "b64_json",
                                  extra_headers={"X-Candor-User": "u-media"})
    assert resp.data and resp.data[0].b64_json and resp.data[0].url is None   # URLs come back as labelled files
    data = base64.b64decode(resp.data[0].b64_json)
    after = Image.open(io.BytesIO(data))
    after.load()
    assert after.format == {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}[fmt] and after.size == original.size

    label = xmp_label(after)
    assert label["Label"] == "1" and label["ContentProducer"] == "EXAMPLE-OP-001"
    assert label["ContentPropagator"] == "EXAMPLE-OP-001" and label["ProduceID"]
    if fmt == "png":
        assert json.loads(after.text["AIGC"]) == label   # type: ignore[attr-defined]

    before = Image.open(io.BytesIO(encode(original, fmt)))   # what the provider sent, decoded the same way
    box = changed_region(before, after)
    short = min(after.size)
    assert box[3] - box[1] >= MIN_SIDE_SHARE * short
    assert text_height(after, box) >= MIN_SIDE_SHARE * short
    assert (box[2] - box[0]) * (box[3] - box[1]) < 0.2 * after.size[0] * after.size[1]   # a label, not a repaint

    compliance = resp.model_extra["compliance"]   # type: ignore[index]
    assert compliance["label"]["implicit"] == label and compliance["label"]["explicit"] == "AI生成"
    decision = next(d for d in audit_events_for(client, compliance["event_id"]) if d["rule"] == "media_labels")
    assert decision["outcome"] == "labelled" and "LABEL-IMAGE-1" in decision["cites"]

    code, report = inspect_cli(tmp_path, data, f"out.{fmt}")
    assert code == 0
    assert report["explicit"]["present"] is True and report["labelled"]["implicit"] is True
    assert report["implicit"]["xmp"]["value"] == label


def audit_events_for(client: openai.OpenAI, event_id: str) -> list[dict[str, Any]]:
    base = str(client.base_url).rstrip("/").removesuffix("/v1")
    resp = web.get(base + "/audit/events", params={"kind": "exchange"},
                   headers={"authorization": f"Bearer {AUDITOR}"}, timeout=10)
    event = next(e for e in resp.json()["data"] if e["event_id"] == event_id)
    return list(event["decisions"])


def test_an_upstream_label_is_kept_and_candor_signs_as_propagator(client: openai.OpenAI,
                                                                 media_stub: MediaStub) -> None:
    upstream = {"Label": "1", "ContentProducer": "PROVIDER-X", "ProduceID": "px-123", "ReservedCode1": "sig",
                "ContentPropagator": "", "PropagateID": "", "ReservedCode2": ""}
    media_stub.push(MediaScript(png_with_upstream_label(upstream)))
    resp = client.images.generate(model="img", prompt="a lighthouse")
    after = Image.open(io.BytesIO(base64.b64decode(resp.data[0].b64_json or "")))
    after.load()
    label = xmp_label(after)
    assert {k: label[k] for k in ("Label", "ContentProducer", "ProduceID", "ReservedCode1")} == \
        {"Label": "1", "ContentProducer": "PROVIDER-X", "ProduceID": "px-123", "ReservedCode1": "sig"}
    assert label["ContentPropagator"] == "EXAMPLE-OP-001" and label["PropagateID"]
    assert after.text["Software"] == "provider-x image model"   # type: ignore[attr-defined]


def test_image_edits_upload_is_relayed_and_the_result_labelled(client: openai.OpenAI, media_stub: MediaStub) -> None:
    media_stub.push(MediaScript(encode(photo(512, 512, seed=5), "png")))
    upload = encode(photo(256, 256, seed=9), "png")
    resp = client.images.edit(model="img", image=("me.png", upload, "image/png"), prompt="add a hat")
    sent = media_stub.requests[0]
    assert sent["path"] == "/v1/images/edits" and sent["body"]["prompt"] == "add a hat"
    assert sent["body"]["model"] == "gpt-image-1" and sent["files"] == [("image", "me.png", len(upload))]
    after = Image.open(io.BytesIO(base64.b64decode(resp.data[0].b64_json or "")))
    after.load()
    assert xmp_label(after)["ContentProducer"] == "EXAMPLE-OP-001"


def _wav_samples(data: bytes) -> tuple[np.ndarray, int]:
    import wave

    with wave.open(io.BytesIO(data)) as w:
        frames = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float64) / 32768
        return frames.reshape(-1, w.getnchannels()).mean(axis=1), w.getframerate()


def test_wav_speech_starts_with_the_rhythm_label_and_carries_the_aigc_chunk(
        client: openai.OpenAI, media_stub: MediaStub, tmp_path: Path) -> None:
    original = wav_bytes(rate=24000, channels=1, seconds=2.0)
    media_stub.push(MediaScript(original, "audio/wav"))
    resp = client.audio.speech.create(model="tts", voice="alloy", input="你好，我是你的助手", response_format="wav")
    data = resp.content
    assert resp.response.headers["x-candor-label-explicit"] == "rhythm"
    implicit = json.loads(resp.response.headers["x-candor-label-implicit"])
    assert implicit["ContentProducer"] == "EXAMPLE-OP-001" and resp.response.headers["x-candor-event-id"]

    before_len = mutagen.wave.WAVE(io.BytesIO(original)).info.length
    after_len = mutagen.wave.WAVE(io.BytesIO(data)).info.length
    assert after_len - before_len == pytest.approx(rhythm.DURATION, abs=0.001)
    samples, rate = _wav_samples(data)
    old, _ = _wav_samples(original)
    head = round(rhythm.DURATION * rate)
    assert np.array_equal(samples[head:], old)                     # the speech itself is untouched, after the label
    assert np.allclose(samples[:head], rhythm.tone(rate), atol=1 / 16384)   # and the label is the tone pattern
    assert rhythm.detect(samples, rate) and not rhythm.detect(old, rate)

    code, report = inspect_cli(tmp_path, data, "speech.wav")
    assert code == 0 and report["explicit"]["present"] is True
    assert report["implicit"]["riff_chunk"]["value"] == implicit


def test_mp3_speech_starts_with_the_rhythm_label_and_has_an_id3_aigc_frame(
        client: openai.OpenAI, media_stub: MediaStub, tmp_path: Path) -> None:
    original = mp3_bytes(rate=24000, channels=1, seconds=2.0)
    media_stub.push(MediaScript(original, "audio/mpeg"))
    resp = client.audio.speech.create(model="tts", voice="alloy", input="hello there")   # mp3 is the default
    data = resp.content
    assert resp.response.headers["content-type"].startswith("audio/mpeg")
    assert resp.response.headers["x-candor-label-explicit"] == "rhythm"
    tags = ID3(io.BytesIO(data))
    label = json.loads(str(tags["TXXX:AIGC"].text[0]))
    assert label["ContentProducer"] == "EXAMPLE-OP-001" and label["Label"] == "1"

    grew = mutagen.mp3.MP3(io.BytesIO(data)).info.length - mutagen.mp3.MP3(io.BytesIO(original)).info.length
    assert rhythm.DURATION <= grew <= rhythm.DURATION + 0.15      # the label, plus at most the encoder's padding
    assert data.endswith(original)          # the provider's frames follow the label's, bit for bit
    whole = miniaudio.decode(data, output_format=miniaudio.SampleFormat.SIGNED16, nchannels=1, sample_rate=24000)
    samples = np.asarray(whole.samples, dtype=np.float64) / 32768
    assert rhythm.detect(samples, 24000)
    plain = miniaudio.decode(original, output_format=miniaudio.SampleFormat.SIGNED16, nchannels=1, sample_rate=24000)
    assert not rhythm.detect(np.asarray(plain.samples, dtype=np.float64) / 32768, 24000)

    code, report = inspect_cli(tmp_path, data, "speech.mp3")
    assert code == 0 and report["explicit"]["present"] is True and report["implicit"]["id3_txxx"]["value"] == label


def _error(exc: openai.APIStatusError) -> dict[str, Any]:
    body = exc.response.json()
    assert set(body["error"]) == {"message", "type", "code", "param"}
    return dict(body["error"])


def _still_up(client: openai.OpenAI, media_stub: MediaStub) -> None:
    media_stub.push(MediaScript(encode(photo(200, 200), "png")))
    assert client.images.generate(model="img", prompt="ok").data[0].b64_json


@pytest.mark.parametrize(("script", "needle"), [
    (MediaScript(b"\x89PNG\r\n\x1a\n" + b"\0" * 200), "cannot be decoded"),                  # corrupt image
    (MediaScript(b"<html>not an image</html>", "text/html"), "not a PNG"),                  # not an image at all
    (MediaScript(wav_bytes(seconds=0.2), "audio/wav"), "an image was expected"),             # the wrong medium
    (MediaScript(url_path="/hang"), "did not complete within 1s"),                          # a URL that hangs
    (MediaScript(url_path="/drip"), "did not complete within 1s"),                          # one that trickles
    (MediaScript(url_path="/big"), "larger than media.max_file_bytes"),                     # one that is too large
    (MediaScript(raw_url="file:///etc/passwd"), "is not http(s)"),                          # not a web URL
    (MediaScript(status=500), "HTTP 500"),                                                  # the provider fails
], ids=["corrupt", "not-image", "wrong-medium", "url-hangs", "url-trickles", "url-too-large", "url-not-http",
        "provider-500"])
def test_bad_images_are_refused_with_502_recorded_and_the_proxy_stays_up(
        client: openai.OpenAI, proxy: ProxyProcess, media_stub: MediaStub, script: MediaScript, needle: str) -> None:
    media_stub.push(script)
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as info:
        client.images.generate(model="img", prompt="x")
    assert time.monotonic() - started < 8
    err = _error(info.value)
    assert info.value.status_code == 502 and err["code"] == "upstream_error" and needle in err["message"]
    event_id = info.value.response.headers["x-candor-event-id"]
    event = next(e for e in audit_events(proxy, "error") if e["event_id"] == event_id)
    assert event["status"] == 502 and any(d["detail"] and d["detail"].get("code") == "upstream_error"
                                          for d in event["decisions"])
    _still_up(client, media_stub)


def test_speech_that_is_not_audio_is_refused(client: openai.OpenAI, proxy: ProxyProcess, media_stub: MediaStub) -> None:
    media_stub.push(MediaScript(b"<html>oops</html>", "text/html"))
    with pytest.raises(openai.APIStatusError) as info:
        client.audio.speech.create(model="tts", voice="alloy", input="hi", response_format="wav")
    assert info.value.status_code == 502 and "instead of audio" in _error(info.value)["message"]
    media_stub.push(MediaScript(b"RIFF\x10\0\0\0WAVEjunkjunk", "audio/wav"))
    with pytest.raises(openai.APIStatusError) as info:
        client.audio.speech.create(model="tts", voice="alloy", input="hi", response_format="wav")
    assert info.value.status_code == 502 and "cannot be labelled" in _error(info.value)["message"]
    _still_up(client, media_stub)


def test_formats_without_room_for_the_implicit_label_are_refused_before_the_provider(
        client: openai.OpenAI, media_stub: MediaStub) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.audio.speech.create(model="tts", voice="alloy", input="hi", response_format="aac")
    assert "implicit AIGC label" in _error(info.value)["message"] and media_stub.requests == []


def test_an_upload_over_the_limit_gets_413(client: openai.OpenAI, proxy: ProxyProcess, media_stub: MediaStub) -> None:
    big = encode(photo(900, 900, seed=2), "png")
    assert len(big) > 300_000
    with pytest.raises(openai.APIStatusError) as info:
        client.images.edit(model="img", image=("big.png", big, "image/png"), prompt="x")
    assert info.value.status_code == 413 and _error(info.value)["code"] == "request_too_large"
    assert media_stub.requests == []
    event_id = info.value.response.headers["x-candor-event-id"]
    assert any(e["event_id"] == event_id for e in audit_events(proxy, "refusal"))
    _still_up(client, media_stub)


def _admin(proxy: ProxyProcess, method: str, path: str, **kw: Any) -> httpx.Response:
    return web.request(method, proxy.url + path, headers={"authorization": f"Bearer {ADMIN}"}, timeout=10, **kw)


def test_a_persona_needs_face_consent_for_images_and_voice_consent_for_speech(
        client: openai.OpenAI, proxy: ProxyProcess, media_stub: MediaStub) -> None:
    resp = _admin(proxy, "POST", "/admin/personas", json={
        "id": "xiaomei", "display_name": "小美", "relationship": "friend",
        "likeness": {"subject_id": "mei-real", "kinds": ["face", "voice"], "deceased": False}})
    assert resp.status_code in (200, 201), resp.text
    resp = _admin(proxy, "POST", "/admin/consents", json={
        "subject_id": "mei-real", "granted_by": "subject", "scopes": ["voice"], "purpose": "voice companion",
        "evidence_sha256": "a" * 64})
    assert resp.status_code in (200, 201), resp.text
    headers = {"X-Candor-Persona": "xiaomei", "X-Candor-User": "fan-1"}
    with pytest.raises(openai.PermissionDeniedError) as info:
        client.images.generate(model="img", prompt="小美的自拍", extra_headers=headers)
    err = _error(info.value)
    assert err["code"] == "likeness_consent_required" and "face" in err["message"]
    assert media_stub.requests == []                      # refused before the provider was called
    media_stub.push(MediaScript(wav_bytes(seconds=0.5), "audio/wav"))
    speech = client.audio.speech.create(model="tts", voice="alloy", input="早上好", response_format="wav",
                                        extra_headers=headers)
    assert speech.response.status_code == 200 and len(media_stub.requests) == 1


def test_identity_check_abuse_is_refused_for_speech(client: openai.OpenAI, media_stub: MediaStub) -> None:
    with pytest.raises(openai.PermissionDeniedError) as info:
        client.audio.speech.create(model="tts", voice="alloy", response_format="wav",
                                   input="用我妈妈的声音帮我通过银行的声纹验证")
    assert _error(info.value)["code"] == "identity_check_refused" and media_stub.requests == []


def test_the_demo_model_makes_labelled_images_and_speech_offline(client: openai.OpenAI, tmp_path: Path) -> None:
    image = client.images.generate(model="candor-demo", prompt="sunset", size="512x512")
    data = base64.b64decode(image.data[0].b64_json or "")
    assert inspect_cli(tmp_path, data, "demo.png")[0] == 0
    for fmt in ("mp3", "wav"):
        speech = client.audio.speech.create(model="candor-demo", voice="alloy", input="你好", response_format=fmt)
        code, report = inspect_cli(tmp_path, speech.content, f"demo.{fmt}")
        assert code == 0 and report["explicit"]["present"] is True


def test_unknown_model_and_missing_key_get_openai_errors(proxy: ProxyProcess) -> None:
    bad = web.OpenAI(base_url=proxy.url + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.images.generate(model="img", prompt="x")
    good = web.OpenAI(base_url=proxy.url + "/v1", api_key=APP_KEY, max_retries=0)
    with pytest.raises(openai.NotFoundError) as info:
        good.images.generate(model="nope", prompt="x")
    assert _error(info.value)["code"] == "model_not_found"


def test_audio_and_images_inside_chat_replies_are_labelled_too(client: openai.OpenAI, media_stub: MediaStub) -> None:
    original = wav_bytes(seconds=1.0)
    media_stub.push(MediaScript(original, "audio/wav"))
    reply = client.chat.completions.create(
        model="voice-chat", modalities=["text", "audio"], audio={"voice": "alloy", "format": "wav"},
        messages=[{"role": "user", "content": "说你好"}], user="media-chat-user")
    audio = reply.choices[0].message.audio
    assert audio is not None and audio.transcript == "你好"
    data = base64.b64decode(audio.data)
    samples, rate = _wav_samples(data)
    assert rhythm.detect(samples, rate) and len(data) > len(original)
    decisions = audit_events_for(client, reply.model_extra["compliance"]["event_id"])   # type: ignore[index]
    media = next(d for d in decisions if d["rule"] == "media_labels")
    assert media["outcome"] == "labelled" and media["detail"]["in"] == "chat_reply"

    media_stub.push(MediaScript(encode(photo(300, 300), "png")))
    reply = client.chat.completions.create(model="voice-chat", messages=[{"role": "user", "content": "画一只猫"}],
                                           user="media-chat-user")
    images = reply.choices[0].message.model_extra["images"]   # type: ignore[index]
    url = images[0]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    im = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    im.load()
    assert xmp_label(im)["ContentProducer"] == "EXAMPLE-OP-001"
    assert "本回复由人工智能生成" in (reply.choices[0].message.content or "")   # the text label is still there

    media_stub.push(MediaScript(b"\x89PNG\r\n\x1a\nbroken", "image/png"))
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(model="voice-chat", messages=[{"role": "user", "content": "再画一只"}],
                                       user="media-chat-user")
    assert info.value.status_code == 502 and "cannot be labelled" in _error(info.value)["message"]


def test_the_litellm_adapter_relays_images_and_speech_and_the_results_are_labelled(
        client: openai.OpenAI, media_stub: MediaStub) -> None:
    media_stub.push(MediaScript(encode(photo(256, 256), "jpeg"), "image/jpeg"))
    image = client.images.generate(model="img-litellm", prompt="a red kite", size="1024x1024")
    assert media_stub.requests[0]["path"] == "/v1/images/generations"
    assert media_stub.requests[0]["body"]["model"] == "dall-e-3"
    after = Image.open(io.BytesIO(base64.b64decode(image.data[0].b64_json or "")))
    after.load()
    assert xmp_label(after)["ContentProducer"] == "EXAMPLE-OP-001"
    media_stub.push(MediaScript(wav_bytes(seconds=0.5), "audio/wav"))
    speech = client.audio.speech.create(model="tts-litellm", voice="alloy", input="hi", response_format="wav")
    assert media_stub.requests[1]["path"] == "/v1/audio/speech" and media_stub.requests[1]["body"]["model"] == "tts-1"
    samples, rate = _wav_samples(speech.content)
    assert rhythm.detect(samples, rate)


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_an_unlabelled_delivery_keeps_the_implicit_label_and_is_logged(
        client: openai.OpenAI, proxy: ProxyProcess, media_stub: MediaStub) -> None:
    assert _admin(proxy, "PUT", "/admin/users/pro-user", json={"unlabeled_allowed": True}).status_code == 200
    src = encode(photo(320, 240), "png")
    media_stub.push(MediaScript(src))
    resp = client.images.generate(model="img", prompt="x",
                                  extra_headers={"X-Candor-User": "pro-user", "X-Candor-Unlabeled": "1"})
    data = base64.b64decode(resp.data[0].b64_json or "")
    assert np.array_equal(_pixels(data), _pixels(src))           # no visible label, as the user agreed
    after = Image.open(io.BytesIO(data))
    after.load()
    assert xmp_label(after)["ContentProducer"] == "EXAMPLE-OP-001"  # the implicit label is never waived
    compliance = resp.model_extra["compliance"]   # type: ignore[index]
    assert "unlabeled_delivery" in compliance["actions"]
    logged = [e for e in audit_events(proxy, "unlabeled_delivery")
              if e["decisions"][0]["detail"]["exchange_event_id"] == compliance["event_id"]]
    assert len(logged) == 1
    # a user without the permission asking the same gets the label anyway
    media_stub.push(MediaScript(src))
    resp = client.images.generate(model="img", prompt="x",
                                  extra_headers={"X-Candor-User": "someone", "X-Candor-Unlabeled": "1"})
    assert not np.array_equal(_pixels(base64.b64decode(resp.data[0].b64_json or "")), _pixels(src))


def test_a_policy_that_leaves_the_explicit_label_to_the_app_records_the_delegation(
        proxy: ProxyProcess, media_stub: MediaStub) -> None:
    eu = web.OpenAI(base_url=proxy.url + "/v1", api_key=EU_KEY, max_retries=0, timeout=20)
    src = encode(photo(320, 240), "png")
    media_stub.push(MediaScript(src))
    resp = eu.images.generate(model="img", prompt="x")
    data = base64.b64decode(resp.data[0].b64_json or "")
    assert np.array_equal(_pixels(data), _pixels(src))
    compliance = resp.model_extra["compliance"]   # type: ignore[index]
    assert "label_delegated" in compliance["actions"] and compliance["label"]["position"] == "ui"
    after = Image.open(io.BytesIO(data))
    after.load()
    assert xmp_label(after)["Label"] == "1"                       # EU-50-2: machine-readable marking


def test_streamed_chat_audio_starts_with_the_rhythm_label(client: openai.OpenAI, media_stub: MediaStub) -> None:
    pcm = (np.sin(np.arange(24000) * 2 * np.pi * 220 / 24000) * 8000).astype("<i2").tobytes()   # 1 s at 24 kHz
    media_stub.push(MediaScript(pcm, "audio/pcm16"))
    stream = client.chat.completions.create(
        model="voice-chat", modalities=["text", "audio"], audio={"voice": "alloy", "format": "pcm16"},
        messages=[{"role": "user", "content": "说你好"}], user="media-chat-user", stream=True)
    parts: list[bytes] = []
    compliance: dict[str, Any] = {}
    for chunk in stream:
        compliance = (chunk.model_extra or {}).get("compliance") or compliance
        for choice in chunk.choices:
            audio = (choice.delta.model_extra or {}).get("audio") or {}
            if audio.get("data"):
                parts.append(base64.b64decode(audio["data"]))
    heard = b"".join(parts)
    assert len(heard) > len(pcm) and heard.endswith(pcm)   # the label first, then every original sample
    samples = np.frombuffer(heard, "<i2").astype(np.float64) / 32767
    assert rhythm.detect(samples, 24000)
    assert "label_delegated" in compliance["actions"]   # raw pcm16 cannot carry the implicit label
