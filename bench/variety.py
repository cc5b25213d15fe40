"""Different text in every request and every reply, as real traffic has.

Candor's detection layer keeps its readings of the texts it saw last (an LRU of 512 per worker): a
conversation's earlier turns, sent again with every request, are read once. A bench that sent one user
message and got one reply back every time would measure that cache, not the detectors: on this machine a
request then cost about half the CPU it costs when its texts are new. So the load generator cycles over
``VARIANTS`` user messages (more than the cache holds) and the stub puts a different name into every
sentence of every reply. The names have a fixed width, so the stub's precomputed lengths still hold.
"""

from __future__ import annotations

NAME_WIDTH = 5
VARIANTS = 2048   # distinct user messages per run: four times the detection layer's cache

_C = "bcdfghjklmnprstvwz"   # 18 consonants, 5 vowels: 18 * 5 * 18 * 5 * 18 = 145,800 names
_V = "aeiou"
_SPAN = len(_C) ** 3 * len(_V) ** 2


def name_of(n: int) -> str:
    """A pronounceable five-letter name ("Kamir"), different for each ``n`` below 145,800 and spread so
    that neighbours do not share their first letters."""
    k = (n * 7919) % _SPAN   # 7919 is prime and does not divide the span: a permutation of the range
    letters = []
    for alphabet in (_C, _V, _C, _V, _C):
        k, r = divmod(k, len(alphabet))
        letters.append(alphabet[r])
    return "".join(letters).capitalize()
