"""Deterministic surface augmentation of the hand-written detector training corpora.

Run it as a file: ``python middleware/detectors/corpus/augment_text.py [TASK ...]``.
For each ``<task>.train.jsonl`` listed in TASKS it keeps the rows whose ``source`` is ``handwritten``,
drops any earlier ``augmented:*`` rows, and appends new variants of the hand-written rows only:

- ``typo``: a swapped, dropped or doubled letter in a Latin word, or a common Chinese
  same-sound slip (的/地/得, 在/再, 吗/嘛 ...);
- ``slang``: common Chinese internet spellings (什么→啥, 知道→造, 没有→木有 ...);
- ``nopunct``: punctuation removed;
- ``emoji``: a neutral emoji added (neutral on purpose: a sad emoji could change the label of a
  retention plea row);
- ``spaced``: the letters of one Latin word spaced out ("b y e");
- ``case``: all lower or all upper case.

And, in a pass of its own for the tasks in ``NAMED_TASKS``, over the hand-written and the later
added rows alike: ``name``, the user addressed by a name from a fixed pool ("..., Mia." / "小雨，..."), at the
start or before the final punctuation. Companion replies name the user all the time; without such rows a
model learned the character n-grams of a name like "Me..." or "Love..." as signs of manipulation. The pass
draws from its own random generator, so the other kinds' variants stay as they were.

The labels are kept: every transformation is one a real user or model could produce without changing
the meaning. No invisible Unicode and no homoglyphs. The output depends only on the hand-written rows
(the random generator is seeded from each row's text), so reruns give identical files.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TASKS = ("human_claim", "exit", "retention_plea", "emotional_manipulation", "privacy_probing")

# Share of hand-written rows that get one variant, and of those, a second one.
P_FIRST = 0.6
P_SECOND = 0.2

# The name pass: tasks, share of rows, and the pool (label-independent: any row may get any name).
# (manipulation only so far: the one task whose model was seen to read names as a sign; the others can join with
# a retrain)
NAMED_TASKS = ("emotional_manipulation",)
P_NAME = 0.3
EN_NAMES = ("Mia", "Leo", "Ava", "Noah", "Emma", "Liam", "Zoe", "Max", "Ruby", "Sam", "Nora", "Eli", "Ivy", "Jack",
            "Luna", "Owen", "Maya", "Finn", "Lily", "Theo", "Meg", "Mel", "Lou", "Kai", "Jo", "Amir", "Priya",
            "Hana", "Diego", "Sofia", "Yuki", "Omar", "Lena", "Marco", "Tess", "Remy", "Cleo", "Gus", "Ada",
            "Milo")
ZH_NAMES = ("小雨", "阿杰", "小美", "大伟", "思思", "小林", "阿明", "婷婷", "晓晓", "小陈", "佳佳", "阿宁", "小周",
            "乐乐", "小鹿", "阿梅", "浩浩", "小安", "欣欣", "老王")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_MARKS = "，。！？、；：,.!?;:…~～"   # the punctuation the kinds drop or a name goes before
_TAIL = re.compile(rf"[\s{_MARKS}]*$")

_LATIN_WORD = re.compile(r"[A-Za-z]{4,}")
_PUNCT = re.compile(rf"[\s]*[{_MARKS}]+")
_NEUTRAL_EMOJI = ("😊", "🙂", "👍", "✨", "😂", "🤔", "💬", "👀", "😅")

# Same-sound slips people really make when typing pinyin.
_ZH_TYPOS = (
    ("的", "地"), ("得", "的"), ("在", "再"), ("再", "在"), ("吗", "嘛"), ("那", "哪"),
    ("做", "作"), ("已经", "以经"), ("因为", "应为"), ("一下", "一哈"), ("没事", "没是"),
    ("账号", "帐号"), ("身份", "身分"), ("真的", "真得"), ("知道", "知到"),
)
# Common internet spellings.
_ZH_SLANG = (
    ("什么", "啥"), ("知道", "造"), ("没有", "木有"), ("怎么", "咋"), ("这样", "酱紫"),
    ("喜欢", "稀饭"), ("觉得", "jio得"), ("是不是", "是8是"), ("谢谢", "3q"),
    ("好的", "好哒"), ("拜拜", "88"), ("我们", "偶们"), ("非常", "超级"), ("朋友", "盆友"),
)


def _rng(task: str, text: str, salt: str) -> random.Random:
    digest = hashlib.sha256(f"{task}\x00{salt}\x00{text}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _typo(text: str, rng: random.Random) -> str:
    words = list(_LATIN_WORD.finditer(text))
    if words:
        m = rng.choice(words)
        w = m.group()
        i = rng.randrange(1, len(w) - 1)
        op = rng.randrange(3)
        if op == 0:
            new = w[:i] + w[i + 1] + w[i] + w[i + 2 :]
        elif op == 1:
            new = w[:i] + w[i + 1 :]
        else:
            new = w[:i] + w[i] + w[i:]
        return text[: m.start()] + new + text[m.end() :]
    hits = [(a, b) for a, b in _ZH_TYPOS if a in text]
    if hits:
        a, b = rng.choice(hits)
        return text.replace(a, b, 1)
    return text


def _slang(text: str, rng: random.Random) -> str:
    hits = [(a, b) for a, b in _ZH_SLANG if a in text]
    if not hits:
        return text
    a, b = rng.choice(hits)
    return text.replace(a, b)


def _nopunct(text: str, rng: random.Random) -> str:
    return _PUNCT.sub(" ", text).strip()


def _emoji(text: str, rng: random.Random) -> str:
    e = rng.choice(_NEUTRAL_EMOJI)
    return f"{text}{e}" if rng.random() < 0.7 else f"{e} {text}"


def _spaced(text: str, rng: random.Random) -> str:
    words = [m for m in _LATIN_WORD.finditer(text) if len(m.group()) <= 8]
    if not words:
        return text
    m = rng.choice(words)
    return text[: m.start()] + " ".join(m.group()) + text[m.end() :]


def _case(text: str, rng: random.Random) -> str:
    if not _LATIN_WORD.search(text):
        return text
    return text.upper() if rng.random() < 0.3 else text.lower()


KINDS: dict[str, Callable[[str, random.Random], str]] = {
    "typo": _typo,
    "slang": _slang,
    "nopunct": _nopunct,
    "emoji": _emoji,
    "spaced": _spaced,
    "case": _case,
}


def _judged_text(row: dict[str, Any]) -> str:
    if "text" in row:
        return str(row["text"])
    return str(row["messages"][-1]["content"])


def _with_text(row: dict[str, Any], text: str) -> dict[str, Any]:
    out = dict(row)
    if "text" in row:
        out["text"] = text
    else:
        msgs = [dict(m) for m in row["messages"]]
        msgs[-1]["content"] = text
        out["messages"] = msgs
    return out


def _loose(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def _held_out(task: str) -> set[str]:
    """The held-out rows' texts (test and validation splits), compared without case, spaces or punctuation:
    a variant that lands on one is not made, so no held-out text is trained on. Only the texts are read."""
    keys: set[str] = set()
    for split in ("test", "valid"):
        path = HERE / f"{task}.{split}.jsonl"
        if path.exists():
            keys |= {_loose(_judged_text(json.loads(ln))) for ln in path.read_text(encoding="utf-8").splitlines()
                     if ln.strip()}
    return keys


def augment_rows(task: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Variants of the hand-written rows, in a fixed order, without duplicates or held-out texts."""
    seen = {_judged_text(r) for r in rows}
    held = _held_out(task)
    out: list[dict[str, Any]] = []
    for row in rows:
        text = _judged_text(row)
        rng = _rng(task, text, "pick")
        n = 0
        if rng.random() < P_FIRST:
            n = 2 if rng.random() < P_SECOND else 1
        kinds = list(KINDS)
        rng.shuffle(kinds)
        made = 0
        for kind in kinds:
            if made == n:
                break
            new = KINDS[kind](text, _rng(task, text, kind))
            if not new.strip() or new in seen or _loose(new) in held:
                continue
            seen.add(new)
            aug = _with_text(row, new)
            aug["source"] = f"augmented:{kind}"
            out.append(aug)
            made += 1
    return out


def named(text: str, rng: random.Random) -> str:
    """``text`` with the user addressed by a name, at the start or before the final punctuation."""
    zh = _CJK.search(text) is not None
    name = rng.choice(ZH_NAMES if zh else EN_NAMES)
    if rng.random() < 0.5:
        return f"{name}，{text}" if zh else f"{name}, {text}"
    cut = _TAIL.search(text)
    at = cut.start() if cut is not None else len(text)
    return f"{text[:at]}{'，' if zh else ', '}{name}{text[at:]}"


def name_rows(task: str, rows: list[dict[str, Any]], seen: set[str]) -> list[dict[str, Any]]:
    """The ``name`` pass: a variant addressed by name for about ``P_NAME`` of ``rows``."""
    if task not in NAMED_TASKS:
        return []
    held = _held_out(task)
    out: list[dict[str, Any]] = []
    for row in rows:
        text = _judged_text(row)
        rng = _rng(task, text, "name")
        if rng.random() >= P_NAME:
            continue
        new = named(text, rng)
        if new in seen or _loose(new) in held:
            continue
        seen.add(new)
        aug = _with_text(row, new)
        aug["source"] = "augmented:name"
        out.append(aug)
    return out


def variants(task: str, hand: list[dict[str, Any]], added: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every augmented row of a task's training file: the kinds' variants of the hand-written rows, then the
    name pass over the hand-written and added rows."""
    aug = augment_rows(task, hand)
    return aug + name_rows(task, hand + added, {_judged_text(r) for r in hand + aug + added})


def rebuild(task: str) -> tuple[int, int]:
    path = HERE / f"{task}.train.jsonl"
    rows = [json.loads(ln) for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    hand = [r for r in rows if r.get("source") == "handwritten"]
    added = [r for r in rows if r.get("source") == "added"]   # hand-written later, kept, not augmented
    aug = variants(task, hand, added)
    with path.open("w", encoding="utf-8") as f:
        for r in hand + aug + added:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return len(hand), len(aug)


def main(argv: list[str]) -> int:
    for task in argv or list(TASKS):
        hand, aug = rebuild(task)
        print(f"{task}: {hand} handwritten, {aug} augmented")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
