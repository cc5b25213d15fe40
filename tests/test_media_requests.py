"""Media request bodies: what is refused with 400 before any provider is called."""

from __future__ import annotations

import orjson
import pytest
from starlette.datastructures import Headers

from middleware.http.errors import CandorError
from middleware.media.requests import parse_edit_form, parse_images_body, parse_speech_body
from tests.media_samples import encode, photo


def _images(body: object) -> dict[str, object]:
    return parse_images_body(orjson.dumps(body))


@pytest.mark.parametrize(("body", "param"), [
    ({"prompt": "x"}, "model"), ({"model": "m"}, "prompt"), ({"model": "m", "prompt": " "}, "prompt"),
    ({"model": "m", "prompt": "x", "n": 0}, "n"), ({"model": "m", "prompt": "x", "n": 11}, "n"),
    ({"model": "m", "prompt": "x", "n": True}, "n"), ({"model": "m", "prompt": "x", "response_format": "png"},
                                                      "response_format"),
    ({"model": "m", "prompt": "x", "stream": True}, "stream"),
])
def test_bad_image_bodies(body: dict[str, object], param: str) -> None:
    with pytest.raises(CandorError) as info:
        _images(body)
    assert info.value.status == 400 and info.value.param == param


def test_not_json_is_a_clear_400() -> None:
    with pytest.raises(CandorError, match="not valid JSON"):
        parse_images_body(b"{")
    with pytest.raises(CandorError, match="empty"):
        parse_speech_body(b"")


@pytest.mark.parametrize(("fmt", "ok"), [("mp3", True), ("wav", True), ("flac", True), ("opus", True),
                                         ("aac", False), ("pcm", False), ("ogg", False)])
def test_speech_formats(fmt: str, ok: bool) -> None:
    raw = orjson.dumps({"model": "m", "input": "hi", "voice": "alloy", "response_format": fmt})
    if ok:
        assert parse_speech_body(raw)["response_format"] == fmt
    else:
        with pytest.raises(CandorError) as info:
            parse_speech_body(raw)
        assert info.value.param == "response_format"


def _form(parts: list[tuple[str, str | tuple[str, bytes]]]) -> tuple[Headers, bytes]:
    boundary = "candorboundary"
    out = b""
    for name, value in parts:
        if isinstance(value, tuple):
            out += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{value[0]}"\r\n'
                    "Content-Type: application/octet-stream\r\n\r\n").encode() + value[1] + b"\r\n"
        else:
            out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    out += f"--{boundary}--\r\n".encode()
    return Headers({"content-type": f"multipart/form-data; boundary={boundary}"}), out


async def test_an_edit_form_is_read_and_its_images_checked_by_their_bytes() -> None:
    png = encode(photo(64, 64), "png")
    headers, raw = _form([("model", "m"), ("prompt", "hat"), ("n", "2"), ("image[]", ("a.png", png)),
                          ("mask", ("m.png", png))])
    body, files = await parse_edit_form(headers, raw)
    assert body == {"model": "m", "prompt": "hat", "n": 2}
    assert [(f.field, f.filename, f.content_type) for f in files] == [("image[]", "a.png", "image/png"),
                                                                       ("mask", "m.png", "image/png")]
    headers, raw = _form([("model", "m"), ("prompt", "hat"), ("image", ("a.png", b"MZ not an image"))])
    with pytest.raises(CandorError, match="not a PNG, JPEG or WebP"):
        await parse_edit_form(headers, raw)
    headers, raw = _form([("model", "m"), ("prompt", "hat")])
    with pytest.raises(CandorError, match="'image' is required"):
        await parse_edit_form(headers, raw)
    with pytest.raises(CandorError, match="multipart/form-data"):
        await parse_edit_form(Headers({"content-type": "application/json"}), b"{}")
