"""Hashed n-gram features for the model tier, computed with a handful of numpy operations.

The features of a (normalised) text are the hashes of its character 1-5 grams (a CJK character or an
emoji carries meaning alone) and its Latin word unigrams and bigrams, each hashed into ``DIM``
buckets. The same function serves training (scikit-learn reads the bucket lists as a sparse matrix)
and serving (the weights of the buckets are summed), so the two cannot drift apart.

Why this shape: character n-grams are what works best for short, noisy, multilingual text (typos,
slang, pinyin, no word segmentation in Chinese), and a polynomial hash over a prefix sum turns every
n-gram of every length into one vectorised subtraction, with no Python loop per n-gram: tens of µs
for a 100-character message, where a loop over n-gram strings costs several times that.

Where the package was built with a C compiler, ``_features.c`` computes the same hashes, and the model bank's
logits of a text, in one call (``hashes`` and ``compiled_logits`` below use it; ``ACCELERATED`` says whether
it runs). This module stays the definition: it hands the C code every constant, its numpy version serves wherever
the extension was not built, and the tests hold the two equal.

The hash is deterministic (not Python's per-process ``hash``), so stored weights stay valid across
processes. ``FEATURE_VERSION`` is stored with the weights; a model built for another version is
refused.
"""

from __future__ import annotations

import functools
from types import ModuleType

import numpy as np
import numpy.typing as npt

from middleware.detectors import speedups

FEATURE_VERSION = 1
BITS = 18
DIM = 1 << BITS
NGRAMS = (2, 3, 4, 5)
_MAX = 4096  # longer texts are featurised in windows of this many characters

_MASK64 = (1 << 64) - 1
_P = 1099511628211  # odd, so invertible modulo 2**64
_P_INV = pow(_P, -1, 1 << 64)
_PPOW = np.array([pow(_P, i, 1 << 64) for i in range(_MAX + 2)], dtype=np.uint64)
_PINV = np.array([pow(_P_INV, i, 1 << 64) for i in range(_MAX + 2)], dtype=np.uint64)
_MIX = np.uint64(0x9E3779B97F4A7C15)
_SHIFT = np.uint64(64 - BITS)
_N_SALT = {n: np.uint64((0xA24BAED4963EE407 * (n + 1)) & _MASK64) for n in (1, *NGRAMS)}
# a-z, 0-9 and the apostrophe make Latin words; index 128 stands for every non-ASCII character
_WORD_CHAR = np.zeros(129, dtype=bool)
_WORD_CHAR[[*range(97, 123), *range(48, 58), 39]] = True
_WORD_SALTS = np.full(_MAX, 0x4F1BBCDCBFA53E0B, dtype=np.uint64)
_BIGRAM_SALTS = np.full(_MAX, 0x6C8E9CF570932BD5, dtype=np.uint64)

Buckets = npt.NDArray[np.uint64]


def _load_compiled() -> ModuleType | None:
    """``_features.c``, handed this module's constants; None where it does not serve (``speedups.load``)."""
    module = speedups.load("_features")
    if module is None:
        return None
    module.configure(_P, _P_INV, _MAX, *(int(_N_SALT[n]) for n in (1, *NGRAMS)), int(_WORD_SALTS[0]),
                     int(_BIGRAM_SALTS[0]), int(_MIX), BITS, _WORD_CHAR[:128].astype(np.uint8).tobytes())
    return module


_compiled = _load_compiled()
# whether the compiled featuriser serves (`candor serve` says when it does not; `python -m bench` reports it)
ACCELERATED = _compiled is not None


def _codes(text: str) -> npt.NDArray[np.uint64]:
    # surrogatepass: a lone surrogate (valid in a str, not in UTF-32) is hashed as its code point, as the compiled
    # featuriser reads it, instead of raising
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)


@functools.lru_cache(maxsize=1024)
def _ngram_plan(n: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.uint64]]:
    """(starts, ends, salts) of every 1-5 gram of a text of ``n`` code points: the same for every text
    of that length, so it is built once per length and the n-grams of a text cost one gather."""
    starts, ends, salts = [], [], []
    for k in (1, *NGRAMS):
        if n >= k:
            s = np.arange(0, n - k + 1, dtype=np.intp)
            starts.append(s)
            ends.append(s + k)
            salts.append(np.full(len(s), _N_SALT[k], dtype=np.uint64))
    return np.concatenate(starts), np.concatenate(ends), np.concatenate(salts)


def hashes(text: str) -> Buckets:
    """64-bit hashes of every feature of ``text`` (already normalised), before bucketing."""
    if ACCELERATED and len(text) + 2 <= _MAX:
        assert _compiled is not None
        return np.frombuffer(_compiled.hashes(text), dtype=np.uint64)
    return numpy_hashes(text)


def compiled_logits(text: str, weights: npt.NDArray[np.float32], salt: int = 0) -> tuple[list[float], int] | None:
    """The compiled path of a model bank's logits of ``buckets(hashes(text), salt)``: (every column's sum over the
    features' weight rows, scaled by 1/sqrt(number of features), summed in double precision and each rounded to
    float32, as plain floats; the number of features). ``weights``: ``DIM`` rows, C order, float32. None where it does
    not serve (not built, or a text longer than one window): ``ModelBank.text_logits`` then uses numpy."""
    if not ACCELERATED or len(text) + 2 > _MAX:
        return None
    assert _compiled is not None
    width = weights.shape[1]
    found: tuple[list[float], int] = _compiled.logits(text, weights, width, width, salt & _MASK64)
    return found


def numpy_hashes(text: str) -> Buckets:
    """``hashes`` in numpy: the definition the compiled version follows, and the one that serves without it."""
    if len(text) + 2 > _MAX:
        # windows of _MAX - 2 characters starting every _MAX - 10: each overlaps the next by 8, so no
        # 5-gram is lost at a seam
        size, step = _MAX - 2, _MAX - 10
        parts = [hashes(text[i : i + size]) for i in range(0, len(text), step)]
        return np.concatenate(parts)
    # Code points of " text " after a leading 0: prefix[i] = sum_{1<=j<=i} c[j] * P^-j, so the hash
    # of the padded text's [s, e) is P^e * (prefix[e] - prefix[s]), the polynomial hash of the
    # substring itself wherever it sits. uint64 arithmetic wraps modulo 2**64, as the hash wants.
    c = _codes("\0 " + text + " ")
    n = len(c) - 1
    prefix = np.cumsum(c * _PINV[: n + 1])
    starts, ends, salts = _ngram_plan(n)
    word = _WORD_CHAR[np.minimum(c[1:], 128)]
    edges = np.flatnonzero(word[1:] != word[:-1]) + 1
    if len(edges):
        w_starts, w_ends = edges[0::2], edges[1::2]
        nw = len(w_starts)
        starts = np.concatenate((starts, w_starts, w_starts[:-1]))
        ends = np.concatenate((ends, w_ends, w_ends[1:]))
        salts = np.concatenate((salts, _WORD_SALTS[:nw], _BIGRAM_SALTS[: nw - 1]))
    return ((prefix[ends] - prefix[starts]) * _PPOW[ends]) ^ salts


def buckets(raw: Buckets, salt: int = 0) -> npt.NDArray[np.intp]:
    """Bucket indices of hashes; a non-zero ``salt`` gives a disjoint family (context-crossed features)."""
    if salt:
        raw = raw ^ np.uint64(salt & _MASK64)
    return ((raw * _MIX) >> _SHIFT).astype(np.intp)


def featurize(text: str) -> npt.NDArray[np.intp]:
    return buckets(hashes(text))
