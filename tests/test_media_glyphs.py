"""The shipped label font's coverage (middleware/media/glyphs.py), checked when a policy loads."""

from __future__ import annotations

from middleware.media.glyphs import FONT_PATH, covered, missing_glyphs


def test_the_default_labels_are_drawable_and_unknown_characters_are_named() -> None:
    assert FONT_PATH.is_file()
    assert missing_glyphs("AI生成") == "" and missing_glyphs("人工智能生成 AI-generated") == ""
    assert missing_glyphs("AI生成 \U0001F600\U0001F600 \n") == "\U0001F600"     # once, spaces ignored
    assert covered() is covered() and "A" in covered()
