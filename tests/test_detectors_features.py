"""Hashed n-gram features: deterministic, position-independent, bounded, fast enough to vectorise."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

from middleware.detectors.features import DIM, buckets, featurize, hashes


def test_features_are_buckets_in_range() -> None:
    b = featurize("I want to 结束 my life 😢")
    assert b.dtype == np.intp and len(b) > 0
    assert b.min() >= 0 and b.max() < DIM


def test_an_ngram_hashes_the_same_wherever_it_sits() -> None:
    inner = set(hashes("kill myself").tolist())
    outer = set(hashes("i really want to kill myself now").tolist())
    # the n-grams inside "kill myself" (not those touching its padding) recur in the longer text
    shared = inner & outer
    assert len(shared) >= 30


def test_word_and_bigram_features_exist_for_latin_text() -> None:
    one, two = set(hashes("pills ready").tolist()), set(hashes("ready pills").tolist())
    assert one != two  # the bigram and the boundary n-grams differ, the words do not
    assert len(one & two) >= 10


def test_the_hash_is_the_same_in_another_process() -> None:
    """Weights are stored by bucket: the hash must not depend on PYTHONHASHSEED."""
    code = "from middleware.detectors.features import featurize; print(featurize('我想自杀 tonight').tolist())"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == str(featurize("我想自杀 tonight").tolist())


def test_long_text_is_featurised_in_windows() -> None:
    text = "今天天气不错 " * 1500
    b = featurize(text)
    assert len(b) > 4 * len(text)  # every window contributes its n-grams


def test_salt_gives_another_family() -> None:
    raw = hashes("那就今晚吧")
    assert buckets(raw, 0xABCDEF).tolist() != buckets(raw).tolist()


def test_empty_text_still_has_its_padding() -> None:
    assert len(featurize("")) >= 1
