"""The rhythm label (LABEL-AUDIO-1): short-long short-short at the start, and only that is detected."""

from __future__ import annotations

import numpy as np
import pytest

from middleware.media import rhythm
from tests.media_samples import speech_samples


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 24000, 44100, 48000])
def test_the_label_is_found_in_front_of_speech_and_not_in_speech_alone(rate: int) -> None:
    speech = speech_samples(rate)
    assert rhythm.detect(np.concatenate([rhythm.tone(rate), speech]), rate)
    assert not rhythm.detect(speech, rate)


def test_the_pattern_is_morse_ai_with_dash_three_dots_long() -> None:
    rate = 16000
    tone = rhythm.tone(rate)
    blocks = tone[: len(tone) // 16 * 16].reshape(-1, 16)           # 1 ms blocks
    on = np.concatenate([[0], (np.sqrt((blocks ** 2).mean(axis=1)) > 0.05).astype(int), [0]])
    edges = np.flatnonzero(np.diff(on))
    lengths = [(b - a) / 1000 for a, b in zip(edges[::2], edges[1::2], strict=True)]
    assert len(lengths) == 4
    assert [round(x, 1) for x in lengths] == [round(rhythm.DOT, 1), round(rhythm.DASH, 1),
                                              round(rhythm.DOT, 1), round(rhythm.DOT, 1)]
    assert pytest.approx(3 * rhythm.DOT) == rhythm.DASH


def test_other_rhythms_a_steady_tone_and_a_late_label_are_not_the_label() -> None:
    rate = 24000
    steady = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(rate * 3) / rate)
    assert not rhythm.detect(steady, rate)
    reversed_pattern = rhythm.tone(rate)[::-1].copy()   # short-short-long-short
    assert not rhythm.detect(np.concatenate([reversed_pattern, speech_samples(rate)]), rate)
    late = np.concatenate([np.zeros(rate // 2), rhythm.tone(rate), speech_samples(rate)])
    assert not rhythm.detect(late, rate)


def test_the_label_lasts_what_it_says() -> None:
    assert len(rhythm.tone(24000)) == round(rhythm.DURATION * 24000)
    assert 1.0 < rhythm.DURATION < 2.0
