"""Hashed n-gram features: deterministic, position-independent, bounded; compiled and numpy alike."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from middleware.detectors import features
from middleware.detectors.features import DIM, buckets, compiled_logits, featurize, hashes, numpy_hashes
from middleware.detectors.layer import default_models
from middleware.detectors.textnorm import normalize
from tests.corpus_support import corpus_texts, skip_unless_speedups_expected


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


# --- the compiled featuriser (_features.c) against its definition in numpy ---------------------------------


HOSTILE = ["", " ", "a", "'", "r e a l", "I'm   a  real person", "我 想 自 杀", "😢" * 40, "\U000e0041\u200b\u202e",
           "hi \ud800 there", "\udfff", "x" * 4094, "今天天气不错 " * 1500, "don't don't don't", "a1'b2 c3"]


def test_the_compiled_featuriser_is_built_where_a_c_compiler_is() -> None:
    """The build hook compiles it with the compiler Python was built with; a build that silently lost it would
    serve the numpy version five times slower without a word."""
    skip_unless_speedups_expected()
    assert features._compiled is not None, "middleware/detectors/_features.c was not built: pip install -e . again"
    assert features.ACCELERATED


@pytest.mark.skipif(features._compiled is None, reason="the compiled featuriser is not built here")
def test_the_compiled_hashes_are_the_numpy_hashes() -> None:
    texts = [normalize(t).text for t in corpus_texts(400)] + HOSTILE
    assert len(texts) > 2000
    for text in texts:
        assert np.array_equal(hashes(text), numpy_hashes(text)), text[:40]


@pytest.mark.skipif(features._compiled is None, reason="the compiled featuriser is not built here")
def test_the_compiled_logits_are_the_numpy_logits() -> None:
    bank = default_models()
    texts = [normalize(t).text for t in corpus_texts(200)] + HOSTILE
    for text in texts:
        expected = bank.logits(buckets(numpy_hashes(text)))
        found = compiled_logits(text, bank.weights)
        got = None if found is None else found[0]
        if len(text) + 2 > features._MAX:
            assert got is None   # longer than one window: numpy featurises it in windows
            continue
        # summed in double precision, where numpy sums float32: equal to float32 rounding. That grows with the
        # terms summed: n float32 additions err by up to n * 2**-24 relative (4,000 times the same row: 2.4e-4)
        rtol = max(1e-4, len(text) * 2.0 ** -23)
        assert got is not None and np.allclose(got, expected, rtol=rtol, atol=1e-4), text[:40]


def test_without_the_compiled_featuriser_numpy_serves_the_same_readings() -> None:
    """CANDOR_PURE_FEATURES=1 (or a build without a compiler): same judgments, same features."""
    code = ("from middleware.detectors import features as f; from middleware.detectors.layer import default_layer;"
            "j = default_layer().judge('crisis', '我攒了一瓶药，今晚全吃掉');"
            "print(f.ACCELERATED, j.label, f.featurize('I want to 结束 my life').tolist() == "
            "f.buckets(f.numpy_hashes('I want to 结束 my life')).tolist())")
    env = {**os.environ, "CANDOR_PURE_FEATURES": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["False", "explicit_intent", "True"]


def test_a_lone_surrogate_is_featurised_not_raised() -> None:
    assert len(numpy_hashes("hi \ud800 there")) == len(hashes("hi \ud800 there")) > 0


@pytest.mark.skipif(features._compiled is None, reason="the compiled featuriser is not built here")
def test_the_compiled_context_crossed_logits_are_the_numpy_ones() -> None:
    """The context-crossed features (crisis and exit read after earlier turns): salted buckets plus the context's
    own feature, on the scale of the text's plain features."""
    from middleware.detectors.model import context_bias, context_salt

    bank = default_models()
    for task in ("crisis", "exit"):
        cols = bank.models[task].columns
        for level in bank.models[task].context_levels:
            salt, extra = context_salt(level), context_bias(level)
            for text in [normalize(t).text for t in corpus_texts(60)] + HOSTILE[:10]:
                raw = numpy_hashes(text)
                # the definition, in numpy: the salted features and the context's own, summed, on the base scale
                rows = np.append(buckets(raw, salt), extra)
                expected = bank.weights[rows][:, cols].sum(axis=0) / np.float32(np.sqrt(len(raw)))
                got = bank.crossed(task, text, salt, extra)
                assert got is not None and np.allclose(got, expected, rtol=1e-4, atol=1e-4), (task, level, text[:40])
