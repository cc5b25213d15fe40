"""PNG, JPEG and WebP files labelled: the file's own metadata kept, the labels readable by Pillow,
bad files refused."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageCms

from middleware.media import aigc, images
from middleware.media.errors import MediaError
from middleware.media.image_label import LabelStyle
from tests.media_samples import encode, photo

STAMP = aigc.Stamp("OP", "OP", "e1")


def _label(existing: dict[str, Any] | None) -> dict[str, str]:
    return aigc.label_for(existing, STAMP)


def _open(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_icc_profile_and_exif_survive_labelling(fmt: str) -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"
    src = encode(photo(300, 200), fmt, icc_profile=icc, exif=exif.tobytes())
    out, detail = images.label_image(src, fmt, _label, LabelStyle())
    im = _open(out)
    assert im.info.get("icc_profile") == icc
    assert im.getexif()[0x010F] == "CameraMaker"
    assert images.read_implicit(im).xmp == detail["implicit"]


def test_jpeg_is_re_encoded_with_its_own_quantisation_tables() -> None:
    src = encode(photo(400, 300), "jpeg", quality=60)
    out, _ = images.label_image(src, "jpeg", _label, LabelStyle())
    assert _open(out).quantization == _open(src).quantization


def test_lossless_webp_stays_lossless_and_lossy_stays_lossy() -> None:
    lossless = encode(photo(200, 200), "webp", lossless=True)
    assert b"VP8L" in images.label_image(lossless, "webp", _label, LabelStyle())[0][:64]
    lossy = encode(photo(200, 200), "webp", quality=80)
    assert b"VP8 " in images.label_image(lossy, "webp", _label, LabelStyle())[0][:64]
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    extended = encode(photo(200, 200), "webp", lossless=True, icc_profile=icc)   # VP8X, ICCP, then VP8L
    assert extended[12:16] == b"VP8X"
    out = images.label_image(extended, "webp", _label, LabelStyle())[0]
    assert images._webp_lossless(out) and _open(out).info["icc_profile"] == icc


def test_a_cmyk_jpeg_is_written_as_rgb_without_its_cmyk_profile() -> None:
    src = encode(photo(160, 120).convert("CMYK"), "jpeg", icc_profile=b"fake-cmyk-profile")
    out, _ = images.label_image(src, "jpeg", _label, LabelStyle())
    im = _open(out)
    assert im.mode == "RGB" and "icc_profile" not in im.info


@pytest.mark.parametrize("mode", ["P", "RGBA", "L", "LA"])
def test_png_modes_are_labelled(mode: str) -> None:
    src = encode(photo(160, 120).convert(mode), "png")
    out, detail = images.label_image(src, "png", _label, LabelStyle())
    im = _open(out)
    assert detail["explicit"]["text_height"] >= 0.05 * 120
    assert im.text["AIGC"] == aigc.dumps(detail["implicit"])   # type: ignore[attr-defined]


def test_without_the_explicit_label_no_pixel_changes_and_the_implicit_label_stays() -> None:
    src = encode(photo(200, 150), "png")
    out, detail = images.label_image(src, "png", _label, None)
    assert np.array_equal(np.asarray(_open(out)), np.asarray(_open(src)))
    assert detail["explicit"] is None and images.read_implicit(_open(out)).xmp == detail["implicit"]


@pytest.mark.parametrize(("data", "fmt", "needle"), [
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "png", "cannot be decoded"),
    (encode(photo(100, 100), "jpeg")[:300], "jpeg", "cannot be decoded"),
    (b"RIFF\0\0\0\0WEBPVP8 ", "webp", "cannot be decoded"),
])
def test_damaged_images_are_refused(data: bytes, fmt: str, needle: str) -> None:
    with pytest.raises(MediaError, match=needle):
        images.label_image(data, fmt, _label, LabelStyle())


def test_animated_and_oversized_images_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    frames = [photo(64, 64, seed=i) for i in range(2)]
    buf = io.BytesIO()
    frames[0].save(buf, "WEBP", save_all=True, append_images=frames[1:])
    with pytest.raises(MediaError, match="animated"):
        images.label_image(buf.getvalue(), "webp", _label, LabelStyle())
    monkeypatch.setattr(images, "MAX_PIXELS", 100 * 100)
    with pytest.raises(MediaError, match="more than 10000 pixels"):
        images.label_image(encode(photo(200, 200), "png"), "png", _label, LabelStyle())
