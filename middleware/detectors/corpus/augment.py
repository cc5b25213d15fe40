"""Deterministic augmentation of the hand-written crisis training rows (stdlib only).

Run from the repository root:

    python middleware/detectors/corpus/augment.py [path/to/crisis.train.jsonl]

The file is rewritten in place: every ``"source": "handwritten"`` row is kept as it is,
earlier ``augmented:*`` rows are dropped, and new augmented rows are derived from the
hand-written rows only (never from other augmented rows, never from any dev or test split),
so running the script twice gives the same file. For a ``messages`` row only the last user
turn is changed; the context turns and the label stay.

Kinds (the ``source`` is ``augmented:<kind>``):
- ``typo``: one or two character-level slips (drop, swap, double, neighbouring key; for
  Chinese a common homophone slip such as 在/再 or 的/得, or a dropped character);
- ``nopunct``: punctuation removed (and English lower-cased), as users type on phones;
- ``emoji``: one emoji from a label-independent pool, so emoji carry no label signal;
- ``pinyin``: a few known Chinese words written as pinyin or its initials (自杀 -> zs);
- ``trad``: traditional characters for a fixed set of simplified ones;
- ``spaced``: a key word spaced out (k m s, 自 杀), a common filter-dodging habit.

No invisible characters or homoglyphs are produced: the normaliser handles those, and
the point here is the surface variety real users produce.
"""

from __future__ import annotations

import json
import random
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

SEED = 20261130
# Share of hand-written rows that get one augmented twin.
RATE = 0.45
DEFAULT_PATH = Path(__file__).with_name("crisis.train.jsonl")

Row = dict[str, Any]
Aug = Callable[[str, str, random.Random], str | None]

CJK = re.compile(r"[\u4e00-\u9fff]")

# Known words -> pinyin spellings users type instead (full pinyin or initials).
PINYIN: dict[str, tuple[str, ...]] = {
    "自杀": ("zs", "zisha", "zi sha"),
    "自残": ("zc", "zican"),
    "割腕": ("gw", "gewan"),
    "跳楼": ("tl", "tiaolou"),
    "安眠药": ("amy", "anmianyao"),
    "遗书": ("ys", "yishu"),
    "不想活了": ("bxhl", "buxianghuole"),
    "不想活": ("bxh", "bu xiang huo"),
    "想死": ("xiangsi", "xiang si"),
    "去死": ("qusi", "qu si"),
    "抑郁": ("yy", "yiyu"),
    "崩溃": ("bk", "bengkui"),
    "绝望": ("jw", "juewang"),
    "难受": ("ns", "nanshou"),
    "安全账户": ("aqzh", "anquan zhanghu"),
    "转账": ("zz", "zhuanzhang"),
    "刷单": ("sd", "shuadan"),
    "杀猪盘": ("szp", "shazhupan"),
    "网恋": ("wl", "wanglian"),
    "烧炭": ("st", "shaotan"),
    "笑死": ("xs", "xiaosi"),
    "累死": ("ls", "leisi"),
    "热死": ("rs", "resi"),
    "游戏": ("yx", "youxi"),
    "男朋友": ("npy", "nanpengyou"),
    "女朋友": ("npy", "nvpengyou"),
    "朋友": ("py", "pengyou"),
    "作业": ("zy", "zuoye"),
}

_TRAD_PAIRS = (
    "们們 个個 这這 说說 时時 么麼 没沒 对對 会會 还還 来來 过過 后後 觉覺 经經 药藥 钱錢 转轉 账賬 "
    "户戶 骗騙 杀殺 书書 遗遺 写寫 准準 备備 楼樓 爱愛 难難 为為 样樣 开開 关關 发發 车車 长長 头頭 "
    "买買 卖賣 让讓 动動 网網 恋戀 银銀 给給 里裡 现現 问問 间間 边邊 谁誰 话話 电電 点點 结結 绝絕 "
    "溃潰 压壓 伤傷 烦煩 医醫 见見 贷貸 赌賭 输輸 赢贏 币幣 场場 妈媽 爷爺 亲親 儿兒 从從 实實 种種 "
    "无無 应應 该該 办辦 认認 识識 钟鐘 乐樂 欢歡 吗嗎 饭飯 题題 学學 试試 过過 脑腦 机機 游遊 戏戲 "
    "帮幫 谢謝 请請 东東 丢丟 两兩 紧緊 张張 处處 气氣 坏壞 极極 划劃 烧燒 摆擺 胁脅 万萬 拦攔 辈輩 "
    "爸 妈媽 岁歲 业業 闭閉 钥鑰 单單 号號 级級 级級 线線 离離 够夠 欢歡 员員 剧劇 国國 际際 语語 "
    "讲講 还還 计計 划劃 续續 继繼 际際 刚剛 让讓 险險 负負 担擔 错錯 总總 师師 热熱 冻凍 费費 厅廳"
)
TRAD: dict[str, str] = {pair[0]: pair[1] for pair in _TRAD_PAIRS.split() if len(pair) == 2}

# Common Chinese slips: a character swapped for a homophone or near-homophone.
ZH_SLIPS: dict[str, str] = {
    "在": "再", "再": "在", "的": "得", "得": "的", "地": "的", "已": "己", "做": "作",
    "那": "哪", "哪": "那", "他": "她", "吗": "嘛", "吧": "8", "啊": "阿", "么": "末",
    "像": "象", "真": "zhen", "想": "相", "了": "le", "是": "4",
}

KEYBOARD = {
    "a": "qs", "s": "ad", "d": "sf", "e": "wr", "i": "uo", "o": "ip", "n": "bm",
    "t": "ry", "r": "et", "l": "k", "m": "n", "u": "yi", "h": "gj", "y": "tu",
}

# Words worth spacing out (the ones a filter would look for), in both directions of the labels.
SPACE_WORDS = (
    "自杀", "紫砂", "想死", "去死", "割腕", "跳楼", "不想活", "遗书", "安眠药", "自残", "结束",
    "安全账户", "转账", "杀猪盘", "刷单", "笑死", "累死", "热死", "死机",
    "kill myself", "kms", "suicide", "suicidal", "die", "dead", "dying", "killing", "kill",
    "cut", "pills", "overdose", "unalive", "ctb", "rope", "scam", "crypto", "transfer",
)

# One pool for every label: emoji must not become a shortcut for the label.
EMOJI = ("🙃", "🥲", "😭", "😶", "😔", "💀", "🫠", "😞", "🥀", "😅", "🤷", "😩")

PUNCT = re.compile(r"[，。！？、；：“”‘’（）…,.!?;:\"()~]+")


def _lang_after(text: str, lang: str) -> str:
    if lang == "zh" and re.search(r"[A-Za-z]", text) and CJK.search(text):
        return "mixed"
    return lang


def aug_typo(text: str, lang: str, rng: random.Random) -> str | None:
    chars = list(text)
    if CJK.search(text) and lang != "en":
        slips = [i for i, c in enumerate(chars) if c in ZH_SLIPS]
        if slips and rng.random() < 0.7:
            i = rng.choice(slips)
            chars[i] = ZH_SLIPS[chars[i]]
            return "".join(chars)
        if len(chars) < 8:
            return None
        i = rng.randrange(1, len(chars) - 1)
        if not CJK.match(chars[i]):
            return None
        del chars[i]
        return "".join(chars)
    words = text.split(" ")
    long = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not long:
        return None
    for i in rng.sample(long, min(len(long), rng.choice((1, 1, 2)))):
        w = list(words[i])
        j = rng.randrange(1, len(w) - 1)
        op = rng.choice(("drop", "swap", "double", "key"))
        if op == "drop":
            del w[j]
        elif op == "swap":
            w[j], w[j + 1] = w[j + 1], w[j]
        elif op == "double":
            w.insert(j, w[j])
        else:
            near = KEYBOARD.get(w[j].lower())
            if not near:
                del w[j]
            else:
                w[j] = rng.choice(near)
        words[i] = "".join(w)
    return " ".join(words)


def aug_nopunct(text: str, lang: str, rng: random.Random) -> str | None:
    out = PUNCT.sub(" ", text).replace("'", "")
    out = re.sub(r"\s+", " ", out).strip()
    if lang != "zh":
        out = out.lower()
    return out or None


def aug_emoji(text: str, lang: str, rng: random.Random) -> str | None:
    e = rng.choice(EMOJI) * rng.choice((1, 1, 2, 3))
    return f"{text} {e}" if rng.random() < 0.8 else f"{e} {text}"


def aug_pinyin(text: str, lang: str, rng: random.Random) -> str | None:
    found = [w for w in PINYIN if w in text]
    if not found:
        return None
    # Longest first so 不想活了 wins over 不想活.
    word = max(found, key=len)
    return text.replace(word, f" {rng.choice(PINYIN[word])} ", 1).strip().replace("  ", " ")


def aug_trad(text: str, lang: str, rng: random.Random) -> str | None:
    out = "".join(TRAD.get(c, c) for c in text)
    return out if out != text else None


def aug_spaced(text: str, lang: str, rng: random.Random) -> str | None:
    low = text.lower()
    for word in SPACE_WORDS:
        if word.isascii():
            m = re.search(rf"\b{re.escape(word)}\b", low)
            if not m:
                continue
            start, end = m.span()
        else:
            start = text.find(word)
            if start < 0:
                continue
            end = start + len(word)
        sep = rng.choice((" ", " ", ".", "-")) if word.isascii() else rng.choice((" ", " ", "*"))
        spaced = sep.join(ch for ch in text[start:end] if ch != " ")
        return text[:start] + spaced + text[end:]
    return None


KINDS: dict[str, Aug] = {
    "typo": aug_typo,
    "nopunct": aug_nopunct,
    "emoji": aug_emoji,
    "pinyin": aug_pinyin,
    "trad": aug_trad,
    "spaced": aug_spaced,
}
# Chinese-only kinds.
ZH_ONLY = {"pinyin", "trad"}


def _judged_text(row: Row) -> str:
    if "text" in row:
        return str(row["text"])
    return str(row["messages"][-1]["content"])


def _with_text(row: Row, text: str) -> Row:
    if "text" in row:
        return {"text": text}
    messages = [dict(m) for m in row["messages"]]
    messages[-1]["content"] = text
    return {"messages": messages}


def _key(row: Row) -> str:
    return row["text"] if "text" in row else json.dumps(row["messages"], ensure_ascii=False)


def augment(rows: list[Row], seed: int = SEED, rate: float = RATE) -> list[Row]:
    """Augmented twins for the hand-written rows; no text repeats any row or another twin."""
    rng = random.Random(seed)
    seen = {_key(r) for r in rows}
    out: list[Row] = []
    for row in rows:
        if row.get("source") != "handwritten" or rng.random() >= rate:
            continue
        text, lang = _judged_text(row), str(row["lang"])
        kinds = [k for k in KINDS if lang != "en" or k not in ZH_ONLY]
        rng.shuffle(kinds)
        # pinyin and spaced apply to few rows; try them first half the time so they are not rare.
        for rare in ("spaced", "pinyin"):
            if rare in kinds and rng.random() < 0.5:
                kinds.remove(rare)
                kinds.insert(0, rare)
        for kind in kinds:
            new = KINDS[kind](text, lang, rng)
            if not new or new == text:
                continue
            twin = _with_text(row, new)
            if _key(twin) in seen:
                continue
            seen.add(_key(twin))
            twin.update(label=row["label"], lang=_lang_after(new, lang), source=f"augmented:{kind}")
            out.append(twin)
            break
    return out


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else DEFAULT_PATH
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    hand = [r for r in rows if r.get("source") == "handwritten"]
    added = [r for r in rows if r.get("source") == "added"]   # hand-written later, kept, not augmented
    twins = augment(hand)
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in hand + twins + added),
        encoding="utf-8",
    )
    print(f"{len(hand)} handwritten + {len(twins)} augmented rows -> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
