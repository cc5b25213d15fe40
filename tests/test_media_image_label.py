"""The visible image label (LABEL-IMAGE-1): text height, placement, legibility, and finding it again."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from middleware.media import image_label
from middleware.media.errors import MediaError
from middleware.media.image_label import LabelStyle, draw, layout, match, render_plate
from tests.media_samples import photo, plain


def _luminance(rgb: tuple[float, float, float]) -> float:
    def lin(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = rgb
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)


def _contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("size", [(64, 64), (200, 1000), (1024, 1024), (4000, 300), (1920, 1080), (333, 777)])
def test_the_rendered_glyphs_are_at_least_5_percent_of_the_shortest_side(size: tuple[int, int]) -> None:
    box = layout(*size, LabelStyle())
    plate = np.asarray(render_plate(box).convert("L"))
    inset = max(2, box.text_height // 8)
    strokes = np.nonzero((plate[inset:-inset, inset:-inset] > 200).any(axis=1))[0]
    ink = strokes.max() - strokes.min() + 1
    assert ink >= 0.05 * min(size) and ink >= image_label.MIN_PIXELS


def test_a_higher_share_asked_by_the_policy_is_honoured() -> None:
    assert layout(1000, 1000, LabelStyle(height=0.1)).text_height >= 100


@pytest.mark.parametrize("background", [(255, 255, 255), (0, 0, 0), (16, 16, 16), (235, 235, 235)])
def test_the_label_is_legible_on_light_and_dark_images(background: tuple[int, int, int]) -> None:
    im = plain(background, 600, 400)
    box = draw(im, LabelStyle())
    region = np.asarray(im.crop((box.x, box.y, box.x + box.width, box.y + box.height)))
    text = tuple(float(v) for v in region[box.height // 2][np.asarray(region[box.height // 2]).sum(axis=1) > 600][0])
    assert _contrast(text, image_label.PLATE) >= 7            # text on its plate: WCAG AAA
    # the plate stands out from the picture: its body on light images, its rim on dark ones
    assert max(_contrast(image_label.PLATE, background), _contrast(image_label.RIM, background)) >= 3


def test_placements_follow_the_policy() -> None:
    w, h = 800, 600
    br = layout(w, h, LabelStyle())
    assert br.x + br.width < w and br.y + br.height < h and br.x > w / 2 and br.y > h / 2
    tl = layout(w, h, LabelStyle(corner="top_left"))
    assert tl.x < w / 2 and tl.y < h / 2
    band = layout(w, h, LabelStyle(placement="band"))
    assert band.x == 0 and band.width == w and band.y + band.height == h
    top_band = layout(w, h, LabelStyle(placement="band", corner="top_right"))
    assert top_band.y == 0


def test_a_label_that_cannot_fit_is_refused_not_shrunk_below_the_rule() -> None:
    with pytest.raises(MediaError, match="does not fit"):
        layout(120, 2000, LabelStyle(text="本图像由人工智能生成本图像由人工智能生成"))


def test_text_without_glyphs_in_the_shipped_font_is_refused() -> None:
    with pytest.raises(MediaError, match="no glyphs"):
        draw(plain((0, 0, 0)), LabelStyle(text="AI生成鹰"))


def test_match_finds_the_label_and_nothing_on_unlabelled_images() -> None:
    for im in (photo(), plain((0, 0, 0)), plain((255, 255, 255)), plain((16, 16, 16))):
        box = layout(im.width, im.height, LabelStyle())
        assert match(im, box) is None
        labelled = im.copy()
        draw(labelled, LabelStyle())
        assert match(labelled, box) == 0.0


def test_the_shipped_font_covers_the_label_texts_and_comes_with_its_licence() -> None:
    assert not image_label.missing_glyphs("AI生成 人工智能合成 本内容由人工智能生成 AI-generated 0123")
    licence = (Path(image_label.FONT_PATH).parent / "OFL.txt").read_text()
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence and "Noto Sans CJK" in licence
    assert image_label.FONT_PATH.stat().st_size < 200_000
