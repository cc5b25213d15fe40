"""The rhythm label for audio (LABEL-AUDIO-1): short-long short-short, Morse "AI", at the start.

Tones are a 1 kHz sine at half of full scale with 5 ms raised-cosine edges (no clicks). ``detect`` finds
the pattern again in decoded audio by the tone's energy per 10 ms frame (Goertzel), so inspect can say
whether a file starts with the label rather than trusting metadata.
"""

from __future__ import annotations

import functools

import numpy as np

FREQ = 1000.0
AMPLITUDE = 0.5
DOT, DASH = 0.12, 0.36             # seconds; a dash is three dots, as in Morse
GAP, LETTER_GAP, TAIL = 0.12, 0.36, 0.30
PATTERN = "· –  · ·"
# (tone?, seconds): A = dot dash, I = dot dot, then a pause before the content
_STEPS = ((True, DOT), (False, GAP), (True, DASH), (False, LETTER_GAP), (True, DOT), (False, GAP), (True, DOT),
          (False, TAIL))
DURATION = sum(s for _, s in _STEPS)
_EDGE = 0.005


@functools.lru_cache(maxsize=32)
def tone(rate: int) -> np.ndarray:
    """The label as mono float samples in [-1, 1] at ``rate`` Hz."""
    parts: list[np.ndarray] = []
    for on, seconds in _STEPS:
        n = round(seconds * rate)
        if not on:
            parts.append(np.zeros(n))
            continue
        t = np.arange(n) / rate
        wave = AMPLITUDE * np.sin(2 * np.pi * FREQ * t)
        edge = min(n // 2, round(_EDGE * rate))
        if edge:
            ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, edge))
            wave[:edge] *= ramp
            wave[-edge:] *= ramp[::-1]
        parts.append(wave)
    out = np.concatenate(parts)
    out.setflags(write=False)
    return out


def _levels(samples: np.ndarray, rate: int, frame: float = 0.01) -> np.ndarray:
    """Per 10 ms frame: the share of the frame's energy at the label's frequency (Goertzel)."""
    n = max(1, round(frame * rate))
    count = len(samples) // n
    if count == 0:
        return np.zeros(0)
    blocks = samples[: count * n].reshape(count, n)
    t = np.arange(n) / rate
    c, s = np.cos(2 * np.pi * FREQ * t), np.sin(2 * np.pi * FREQ * t)
    power = (blocks @ c) ** 2 + (blocks @ s) ** 2
    total = (blocks ** 2).sum(axis=1) * n / 2 + 1e-12
    return np.asarray(power / total)


def detect(samples: np.ndarray, rate: int) -> bool:
    """Whether mono ``samples`` start with the rhythm label: four 1 kHz tones whose lengths read
    short, long, short, short, within the first second and a half."""
    head = samples[: round((DURATION + 0.2) * rate)]
    if len(head) < round((DURATION - TAIL) * rate):
        return False
    on = _levels(head.astype(np.float64), rate) > 0.5
    runs: list[tuple[bool, int]] = []
    for value in on:
        if runs and runs[-1][0] == bool(value):
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((bool(value), 1))
    tones = [length for value, length in runs if value]
    if len(tones) < 4 or (runs and runs[0][0] is False and runs[0][1] > 8):
        return False   # the label is at the very start (up to 80 ms of codec delay allowed)
    dot, dash = DOT * 100, DASH * 100
    first = tones[:4]
    return (abs(first[0] - dot) <= 3 and abs(first[1] - dash) <= 4 and abs(first[2] - dot) <= 3
            and abs(first[3] - dot) <= 3)
