"""The visible label on images (LABEL-IMAGE-1): a text with an AI element and 生成/合成 whose glyphs are
at least 5 % of the image's shortest side high, on an opaque dark plate with a light rim, so it reads
on light and dark images alike.

The glyphs come from ``fonts/candor-label-sans.otf``, a subset of Noto Sans CJK SC Bold (SIL OFL 1.1,
``fonts/OFL.txt``) shipped with Candor: nothing is fetched at run time.

Because the plate is opaque, the labelled region depends only on the text, the font and the box: the
same drawing re-rendered is what ``find`` compares a file against, so ``candor label inspect`` can say
whether the explicit label is still there (not just whether metadata claims it).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from middleware.media.errors import MediaError
from middleware.media.glyphs import FONT_PATH, covered, missing_glyphs

__all__ = ["FONT_PATH", "LabelBox", "LabelStyle", "covered", "draw", "layout", "match", "missing_glyphs"]

DEFAULT_TEXT = "AI生成"
MIN_HEIGHT = 0.05            # LABEL-IMAGE-1: text height >= 5 % of the shortest side
MIN_PIXELS = 12              # below this no text is legible, whatever the ratio says
PLATE = (16, 16, 16)
INK = (255, 255, 255)
RIM = (235, 235, 235)

Placement = Literal["corner", "band"]
Corner = Literal["bottom_right", "bottom_left", "top_right", "top_left"]


@dataclass(frozen=True, slots=True)
class LabelStyle:
    text: str = DEFAULT_TEXT
    placement: Placement = "corner"
    corner: Corner = "bottom_right"
    height: float = 0.06      # the share of the shortest side the glyphs take (>= MIN_HEIGHT)


@dataclass(frozen=True, slots=True)
class LabelBox:
    """Where the label went: the plate's box and the glyphs' ink height, in pixels."""

    x: int
    y: int
    width: int
    height: int
    text_height: int
    font_size: int
    text: str
    placement: str

    def as_dict(self) -> dict[str, object]:
        return {"box": [self.x, self.y, self.width, self.height], "text_height": self.text_height,
                "font_size": self.font_size, "text": self.text, "placement": self.placement}


@functools.lru_cache(maxsize=256)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_PATH), size)


@functools.lru_cache(maxsize=512)
def _fit(text: str, ink: int) -> tuple[int, tuple[int, int, int, int]]:
    """The smallest font size whose glyphs are at least ``ink`` pixels high, and the text's bbox."""
    probe = _font(100).getbbox(text)
    size = max(1, math.ceil(ink * 100 / max(1, probe[3] - probe[1])))
    while True:
        x0, y0, x1, y1 = (int(v) for v in _font(size).getbbox(text))
        if y1 - y0 >= ink:
            return size, (x0, y0, x1, y1)
        size += 1


def layout(width: int, height: int, style: LabelStyle) -> LabelBox:
    """The label's geometry on a ``width`` x ``height`` image (deterministic: inspect recomputes it)."""
    short = min(width, height)
    ink = max(math.ceil(max(style.height, MIN_HEIGHT) * short), MIN_PIXELS)
    size, bbox = _fit(style.text, ink)
    text_w, text_h = bbox[2] - bbox[0], bbox[3] - bbox[1]
    pad = max(2, round(text_h * 0.35))
    plate_w, plate_h = text_w + 2 * pad, text_h + 2 * pad
    margin = round(short * 0.02)
    if style.placement == "band":
        plate_w = width
        x = 0
        y = height - plate_h if not style.corner.startswith("top") else 0
    else:
        x = width - plate_w - margin if style.corner.endswith("right") else margin
        y = height - plate_h - margin if style.corner.startswith("bottom") else margin
    if plate_w > width or plate_h > height or x < 0 or y < 0:
        raise MediaError(f"the label {style.text!r} does not fit a {width}x{height} image at a text height of "
                         f"{ink}px (LABEL-IMAGE-1 asks for at least 5 % of the shortest side): use a shorter "
                         "labels.media.image_text or a larger image")
    return LabelBox(x, y, plate_w, plate_h, text_h, size, style.text, style.placement)


def render_plate(box: LabelBox) -> Image.Image:
    """The label's pixels: an opaque plate with a rim and the text centred on it."""
    plate = Image.new("RGB", (box.width, box.height), PLATE)
    draw = ImageDraw.Draw(plate)
    rim = max(1, box.text_height // 16)
    draw.rectangle((0, 0, box.width - 1, box.height - 1), outline=RIM, width=rim)
    font = _font(box.font_size)
    bbox = font.getbbox(box.text)
    tx = (box.width - (bbox[2] - bbox[0])) // 2 - bbox[0]
    ty = (box.height - (bbox[3] - bbox[1])) // 2 - bbox[1]
    draw.text((tx, ty), box.text, font=font, fill=INK)
    return plate


def draw(image: Image.Image, style: LabelStyle) -> LabelBox:
    """Put the label on ``image`` (RGB or RGBA, changed in place)."""
    if missing_glyphs(style.text):
        raise MediaError(f"the shipped label font has no glyphs for {missing_glyphs(style.text)!r} in "
                         f"{style.text!r}: use a label text of ASCII and 人工智能/生成/合成")
    box = layout(image.width, image.height, style)
    image.paste(render_plate(box), (box.x, box.y))
    return box


def match(image: Image.Image, box: LabelBox, tolerance: float = 18.0) -> float | None:
    """How closely ``image`` shows the label at ``box`` (mean absolute grey difference, 0 = exact), or
    None when it does not (lossy re-encoding stays well below ``tolerance``; an image without the label,
    dark or light, is far above it because the text's strokes are missing)."""
    if box.x + box.width > image.width or box.y + box.height > image.height:
        return None
    expected = np.asarray(render_plate(box).convert("L"), dtype=np.int16)
    actual = np.asarray(image.crop((box.x, box.y, box.x + box.width, box.y + box.height)).convert("L"),
                        dtype=np.int16)
    diff = float(np.abs(expected - actual).mean())
    strokes = expected > 128
    if not strokes.any() or float((actual[strokes] > 128).mean()) < 0.85 or diff > tolerance:
        return None
    return round(diff, 2)


def candidates(width: int, height: int, text: str = DEFAULT_TEXT) -> list[LabelBox]:
    """Every place Candor's default styles would have put ``text``: what inspect tries without a hint."""
    out: list[LabelBox] = []
    placements: tuple[Placement, ...] = ("corner", "band")
    corners: tuple[Corner, ...] = ("bottom_right", "bottom_left", "top_right", "top_left")
    for placement in placements:
        for corner in corners:
            if placement == "band" and corner.endswith("left"):
                continue
            try:
                out.append(layout(width, height, LabelStyle(text, placement, corner)))
            except MediaError:
                continue
    return out
