"""Normalisation against the tricks that carry text past a detector: each trick is a test.

For every trick: the canonical text is the plain one, the crisis message is still detected (pattern
tier, no model needed) and the human claim is still found, and spans lead back to the caller's text.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from middleware.detectors import normalize, textnorm
from middleware.detectors.layer import DetectionLayer
from middleware.detectors.slang import slang_view
from middleware.detectors.textnorm import remap
from tests.corpus_support import corpus_texts, skip_unless_speedups_expected

PATTERNS = DetectionLayer(use_models=False)

# (name, how the trick is applied to a word)
TRICKS = [
    ("U+2063 invisible separator", lambda w: "\u2063".join(w)),
    ("U+200E left-to-right mark", lambda w: w[:2] + "\u200e" + w[2:]),
    ("U+034F combining grapheme joiner", lambda w: "\u034f".join(w)),
    ("U+202E right-to-left override", lambda w: "\u202e" + w + "\u202c"),
    ("U+FE0F variation selector", lambda w: "\ufe0f".join(w)),
    ("tag characters", lambda w: w[:1] + "\U000e0041\U000e0042" + w[1:] + "\U000e007f"),
    ("zero-width space and joiner", lambda w: "\u200b".join(w[:2]) + "\u200d" + w[2:]),
    ("soft hyphen", lambda w: "\u00ad".join(w)),
    ("bidi isolates U+2066-2069", lambda w: "\u2066" + w[:2] + "\u2069\u2067" + w[2:] + "\u2069"),
    ("stacked combining accents", lambda w: "".join(c + "\u0301\u0308" for c in w)),
    ("Hangul filler", lambda w: w[:2] + "\u3164" + w[2:]),
]


@pytest.mark.parametrize(("name", "trick"), TRICKS, ids=[t[0] for t in TRICKS])
def test_invisible_characters_are_dropped(name: str, trick: object) -> None:
    assert callable(trick)
    assert normalize(trick("kill myself")).text == "kill myself"
    assert normalize(trick("我想自杀")).text == "我想自杀"


@pytest.mark.parametrize(("name", "trick"), TRICKS, ids=[t[0] for t in TRICKS])
def test_crisis_message_with_the_trick_is_detected(name: str, trick: object) -> None:
    assert callable(trick)
    for text in (f"I want to {trick('kill')} myself", f"我想{trick('自杀')}"):
        j = PATTERNS.judge("crisis", text)
        assert j.label == "explicit_intent", (name, text)


@pytest.mark.parametrize(("name", "trick"), TRICKS, ids=[t[0] for t in TRICKS])
def test_human_claim_with_the_trick_is_detected(name: str, trick: object) -> None:
    assert callable(trick)
    for text in (f"I'm a {trick('real')} person", f"我是{trick('真人')}"):
        j = PATTERNS.judge("human_claim", text)
        assert j.label == "claim", (name, text)
        (start, end), = j.spans
        assert text[start:end].startswith(("I", "我"))


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ("Ι аm а rеаl реrsоn", "i am a real person"),        # Greek Iota, Cyrillic a/e/p/o
        ("I wаnt tο kіll mysеlf", "i want to kill myself"),  # Cyrillic a/i/e, Greek omicron
        ("ΚΙLL ΜΥSΕLF", "kill myself"),                       # Greek capitals
        ("ｒｅａｌ　ｐｅｒｓｏｎ", "real person"),               # full width
        ("ɪ ᴡᴀɴᴛ ᴛᴏ ᴋɪʟʟ ᴍʏꜱᴇʟꜰ", "i want to kill myself"),      # small capitals (U+1D00.., U+A730..)
        ("ʏᴇs ɪ ᴀᴍ ʀᴇᴀʟ", "yes i am real"),
    ],
)
def test_homoglyphs_and_full_width_fold_to_ascii(raw: str, plain: str) -> None:
    assert normalize(raw).text == plain


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ("我 想 自 杀", "我想自杀"),
        ("我想 自 杀", "我想自杀"),
        ("r e a l", "real"),
        ("k.i.l.l myself", "kill myself"),
        ("k-i-l-l   m-y-s-e-l-f", "kill myself"),
        ("k i l l   m y s e l f", "kill myself"),
        ("i want to k i l l  m y s e l f", "i want to kill myself"),
        ("I am r e a l", "i am real"),
        ("我 是 真 人", "我是真人"),
    ],
)
def test_spaced_out_text_is_collapsed(raw: str, plain: str) -> None:
    assert normalize(raw).text == plain


@pytest.mark.parametrize("text", ["好累 不想说话", "I am a big fan", "a b", "version 1.2 is out"])
def test_ordinary_spacing_is_kept(text: str) -> None:
    assert normalize(text).text == text.lower()


def test_spaced_out_crisis_and_claim_are_detected() -> None:
    assert PATTERNS.judge("crisis", "我 想 自 杀").label == "explicit_intent"
    assert PATTERNS.judge("crisis", "i want to k i l l myself").label == "explicit_intent"
    assert PATTERNS.judge("human_claim", "I'm a r e a l person").label == "claim"


def test_traditional_characters_fold_to_simplified() -> None:
    assert normalize("我們是真實的人類，謝謝").text == "我们是真实的人类,谢谢"
    assert normalize("憂鬱").text == "忧郁"  # beyond the few characters the old table had


def test_spans_survive_every_step() -> None:
    raw = "嗯\u200b 我 是 真\u2063人 哦"
    j = PATTERNS.judge("human_claim", raw)
    (start, end), = j.spans
    assert raw[start:end].replace("\u2063", "").replace(" ", "") == "我是真人"


def test_plain_text_takes_the_no_copy_path() -> None:
    text = "今天天气不错, what about you?"
    assert normalize(text).index is None


def test_slang_view_maps_homophones_and_keeps_offsets() -> None:
    raw = "我今晚想紫砂"
    view = slang_view(normalize(raw))
    assert view is not None and view.text == "我今晚想自杀"
    assert view.to_original(4, 6) == (4, 6)
    assert slang_view(normalize("买了一个紫砂壶")) is None
    assert PATTERNS.judge("crisis", "今晚想zs").label == "explicit_intent"
    assert PATTERNS.judge("crisis", "想鼠").label != "none"


def test_remap_maps_a_longer_replacement_onto_the_matched_characters() -> None:
    import re

    norm = normalize("ab kms cd")
    out = remap(norm, re.compile("kms"), lambda m: "kill myself")
    assert out.text == "ab kill myself cd"
    assert out.to_original(3, 14) == (3, 6)
    assert out.to_original(15, 17) == (7, 9)


# characters that take each path of the normaliser: plain, spaces and newlines (single, doubled, around
# the text), other whitespace, full-width, ligatures and ellipses (NFKC expansions), a capital whose lower
# case is longer ("İ"), invisibles, combining marks, CJK (traditional too)
_ALPHABET = ["a", "B", "z", " ", " ", "\n", "\t", "\u3000", "\u00a0", "Ａ", "ﬁ", "…", "İ", "\u200b", "\u0301",
             "我", "們", "!", "."]


@pytest.mark.parametrize("seed", range(4))
def test_every_shortcut_agrees_with_the_full_rebuild(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """``_normalize`` takes shortcuts (text already canonical; whitespace only around it): whatever it
    returns, the canonical text and the way back to each original offset are those of ``_slow``, which
    rebuilds every text character by character."""
    import random

    from middleware.detectors import textnorm

    slow = textnorm._slow
    rebuilt: list[str] = []
    monkeypatch.setattr(textnorm, "_slow", lambda t: rebuilt.append(t) or slow(t))
    rng = random.Random(seed)
    shortcuts = {"in place": 0, "trimmed": 0}
    for _ in range(2_500):
        text = "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 12)))
        rebuilt.clear()
        fast, full = textnorm._normalize(text), slow(text)
        if not rebuilt:
            shortcuts["trimmed" if text != text.strip() else "in place"] += 1
        assert fast.text == full.text, repr(text)
        for i in range(len(full.text) + 1):
            for j in range(i, len(full.text) + 1):
                assert fast.to_original(i, j) == full.to_original(i, j), (repr(text), i, j)
    assert min(shortcuts.values()) > 50, shortcuts   # both shortcuts were taken, not only the rebuild


@pytest.mark.parametrize("text", ["I'm back! Wow!", "Thanks!! See you soon!", "ok!"])
def test_punctuation_after_a_word_is_not_leetspeak(text: str) -> None:
    """"back!" is a word and an exclamation mark, not "backi": no slang view, so the crisis patterns read
    the text once."""
    assert slang_view(normalize(text)) is None


def test_leetspeak_before_punctuation_keeps_the_word_whole() -> None:
    view = slang_view(normalize("going to commit su1c1de!"))
    assert view is not None and view.text == "going to commit suicide!"
    assert PATTERNS.judge("crisis", "I'm going to commit su1c1de!").label == "explicit_intent"


# --- the compiled folding (_fold.c) against its definition, str.translate ---------------------------------


def _hostile() -> list[str]:
    # every character the table maps, alone and among others; the tricks above; astral and lone surrogates
    mapped = "".join(chr(k) for k in textnorm._FOLD_ALL)
    tricks = [apply(word) for _, apply in TRICKS for word in ("kill", "自杀", "human")]
    return ["", " ", "a", mapped, mapped[::-1], "x" + mapped + "y", *tricks, "hi \ud800 there", "\udfff", "😢" * 40,
            "\U000e0041\U000e0042\U000e007f", "\U0010ffff\U000e01ef\U000e0100", "ｆｕｌｌ　ｗｉｄｔｈ！", "ＡＢＣ",
            "今天天气不错 " * 1500, "Ѕрасе аnd Ꭺ", "藍天白雲，還好嗎？"]


def test_the_compiled_fold_is_built_where_a_c_compiler_is() -> None:
    skip_unless_speedups_expected()
    assert textnorm._COMPILED_FOLD is not None, "middleware/detectors/_fold.c was not built: pip install -e . again"


@pytest.mark.skipif(textnorm._COMPILED_FOLD is None, reason="the compiled fold is not built here")
def test_the_compiled_fold_is_str_translate() -> None:
    texts = corpus_texts(2000) + _hostile()
    assert len(texts) > 10_000
    for text in texts:
        assert textnorm.fold_chars(text) == text.translate(textnorm._FOLD_ALL), text[:40]


@pytest.mark.skipif(textnorm._COMPILED_FOLD is None, reason="the compiled fold is not built here")
def test_a_text_nothing_folds_is_returned_as_it_is() -> None:
    text = "nothing here folds 今天很好"
    assert textnorm.fold_chars(text) is text

    class Tagged(str):
        pass

    folded = textnorm.fold_chars(Tagged(text))   # a str subclass comes back a plain str, as from str.translate
    assert type(folded) is str and folded == text


@pytest.mark.skipif(textnorm._COMPILED_FOLD is None, reason="the compiled fold is not built here")
def test_the_compiled_fold_refuses_what_it_cannot_read() -> None:
    assert textnorm._COMPILED_FOLD is not None
    with pytest.raises(TypeError):
        textnorm._COMPILED_FOLD(b"bytes")   # type: ignore[arg-type]


def test_without_the_compiled_fold_the_normalisation_is_the_same() -> None:
    """CANDOR_PURE_FEATURES=1 (or a build without a compiler): str.translate folds, every canonical text and index
    the same."""
    texts = corpus_texts(300) + _hostile()
    code = ("import json, sys; from middleware.detectors import textnorm as t; texts = json.load(sys.stdin);"
            "print(json.dumps([t._COMPILED_FOLD is None] + [[n.text, list(n.index or ())] for n in map(t.normalize, "
            "texts)]))")
    env = {**os.environ, "CANDOR_PURE_FEATURES": "1"}
    payload = json.dumps(texts, ensure_ascii=True)
    out = subprocess.run([sys.executable, "-c", code], input=payload, capture_output=True, text=True, env=env,
                         check=True)
    pure = json.loads(out.stdout)
    assert pure[0] is True
    here = [[n.text, list(n.index or ())] for n in map(normalize, texts)]
    assert pure[1:] == json.loads(json.dumps(here))
