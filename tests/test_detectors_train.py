"""Training: a reproducible command that never reads a test split and writes loadable weights."""

from __future__ import annotations

import json
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np
import pytest

if find_spec("sklearn") is None:   # found, not imported: only the worker that trains pays sklearn's import
    pytest.skip("could not import 'sklearn': training needs scikit-learn", allow_module_level=True)

from middleware.detectors import train
from middleware.detectors.features import DIM
from middleware.detectors.judgment import TASK_LABELS
from middleware.detectors.layer import DetectionLayer
from middleware.detectors.model import ModelBank
from middleware.detectors.rows import Row

EXITS = ["bye now", "I have to go", "gotta run, bye", "ok I'm logging off", "see you tomorrow", "good night",
         "我先下线了", "拜拜", "不聊了，睡觉去", "先这样吧，回头聊", "我走了哈", "晚安啦"]
OTHERS = ["how do I exit vim", "what's the weather", "tell me a joke", "I love this song", "怎么退出群聊",
          "今天吃什么", "你觉得呢", "再给我讲个故事", "my friend said goodbye", "why is the sky blue",
          "帮我写首诗", "what time is it"]


def _corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    rows = [{"text": t, "label": "exit"} for t in EXITS] + [{"text": t, "label": "none"} for t in OTHERS]
    (corpus / "exit.train.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows))
    # a test split beside it that must never be read: unreadable rows would make training fail
    (corpus / "exit.test.jsonl").write_text("this is not json and must not be read\n")
    return corpus


@pytest.fixture(scope="module")
def trained_twice(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One corpus trained twice into two folders (each fit takes seconds: shared by the tests below)."""
    tmp = tmp_path_factory.mktemp("train")
    corpus = _corpus(tmp)
    for name in ("a", "b"):
        assert train.main(["--task", "exit", "--corpus", str(corpus), "--dev", str(tmp / "none"),
                           "--out", str(tmp / name)]) == 0
    return tmp / "a", tmp / "b"


def test_training_writes_a_model_the_layer_loads(trained_twice: tuple[Path, Path]) -> None:
    out = trained_twice[0]
    assert (out / "exit.npz").is_file()
    report = json.loads((out / "exit.valid.json").read_text())
    assert report["rows"] == 24 and report["validation"] is None and report["C"] == train.C_GRID[0]
    layer = DetectionLayer(models=ModelBank.load(out))
    assert layer.tiers("exit") == ("pattern", "model")
    assert layer.judge("exit", "ok bye, see you tomorrow").label == "exit"


def test_training_is_deterministic(trained_twice: tuple[Path, Path]) -> None:
    banks = [ModelBank.load(out) for out in trained_twice]
    assert np.array_equal(banks[0].weights, banks[1].weights)
    assert banks[0].models["exit"].thresholds == banks[1].models["exit"].thresholds


@pytest.mark.parametrize(("held_back", "what"), [("exit.test.jsonl", "test split"),
                                                 ("narrative.check.jsonl", "check set")])
def test_a_held_back_file_is_refused_as_training_data(tmp_path: Path, held_back: str, what: str) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / held_back).write_text('{"text": "bye", "label": "none"}\n')
    (corpus / "exit.train.jsonl").symlink_to(corpus / held_back)  # held-back rows in disguise
    with pytest.raises(SystemExit, match=what):
        train.training_rows("exit", corpus, dev=None)


def test_dev_rows_join_the_training_rows(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path)
    dev = tmp_path / "dev"
    dev.mkdir()
    (dev / "exit.dev.jsonl").write_text('{"text": "byebye", "label": "exit"}\n')
    rows = train.training_rows("exit", corpus, dev)
    assert len(rows) == 25 and rows[-1].text == "byebye"


def test_a_validation_split_chooses_c_and_joins_the_final_fit(tmp_path: Path) -> None:
    corpus, out = _corpus(tmp_path), tmp_path / "models"
    valid = [{"text": "ok gotta go, bye", "label": "exit"}, {"text": "我要下线了", "label": "exit"},
             {"text": "what's for dinner", "label": "none"}, {"text": "讲个笑话吧", "label": "none"}]
    (corpus / "exit.valid.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in valid))
    assert train.main(["--task", "exit", "--corpus", str(corpus), "--dev", str(tmp_path / "none"),
                       "--out", str(out)]) == 0
    report = json.loads((out / "exit.valid.json").read_text())
    assert report["validation_rows"] == 4 and report["rows"] == 28
    assert report["validation"]["exit"]["support"] == 2 and report["C"] in train.C_GRID
    assert ModelBank.load(out).models["exit"].kind == "softmax"


def test_a_training_row_that_repeats_a_validation_row_is_dropped(tmp_path: Path) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "exit.train.jsonl").write_text('{"text": "886!", "label": "exit"}\n'
                                             '{"text": "bye now", "label": "exit"}\n')
    (corpus / "exit.valid.jsonl").write_text('{"text": "886", "label": "exit"}\n')
    assert [r.text for r in train.training_rows("exit", corpus, dev=None)] == ["bye now"]


def _flat_crisis_model(p_explicit: float) -> tuple[tuple[str, ...], Any, Any]:
    """A crisis model that reads nothing: every text gets explicit intent at ``p_explicit``, the rest ``none``."""
    labels = TASK_LABELS["crisis"]
    intercept = np.full(len(labels), -30.0)
    intercept[labels.index("none")] = 0.0
    intercept[labels.index("explicit_intent")] = float(np.log(p_explicit / (1 - p_explicit)))
    return labels, np.zeros((len(labels), DIM)), intercept


def test_the_crisis_threshold_is_chosen_on_what_serves_pattern_hits_included() -> None:
    # the model alone says "none" (p 0.15), but 0.15 is above the pattern floor, so the pattern's hit stands in
    # serving: the validation figures that choose the threshold must count it
    valid = [Row(text="我想自杀", label="none", lang="zh"),
             Row(text="今天天气不错", label="none", lang="zh")]
    served = train._served_predictions("crisis", valid, *_flat_crisis_model(0.15))
    assert served({}) == ["explicit_intent", "none"]
    labels, coef, intercept = _flat_crisis_model(0.15)
    model_alone = train._probs(labels, coef, intercept, train.matrix("crisis", valid, ["none", "none"]))
    assert [train._predict("crisis", p) for p in model_alone] == ["none", "none"]


def test_the_crisis_threshold_is_the_one_deepest_inside_the_goals() -> None:
    # 100 intents, 200 none rows; each lower threshold finds more intents and raises more false alarms
    gold = ["explicit_intent"] * 100 + ["none"] * 200
    found = {0.5: 93, 0.45: 96, 0.4: 98, 0.35: 99, 0.3: 100}     # recall margins -0.02 .. +0.05
    alarms = {0.5: 2, 0.45: 4, 0.4: 8, 0.35: 12, 0.3: 16}        # false-alarm margins +0.04 .. -0.03
    asked: list[dict[str, float]] = []

    def served(thresholds: dict[str, float]) -> list[str]:
        asked.append(thresholds)
        t = thresholds.get("explicit_intent", 0.5)
        return ["explicit_intent"] * found[t] + ["none"] * (100 - found[t]) + \
            ["explicit_intent"] * alarms[t] + ["none"] * (200 - alarms[t])

    # 0.45: recall 0.96 (+0.01), precision 96/100 (+0.06), false alarms 2 % (+0.03): smallest margin +0.01;
    # 0.4: recall +0.03, precision 98/106 = 0.925 (+0.025), false alarms 4 % (+0.01): smallest margin +0.01 too,
    # the tie goes to the higher threshold; 0.5 misses recall, 0.35 and 0.3 the false-alarm goal
    assert train._choose_recall_threshold("crisis", gold, served, lambda _: None) == {"explicit_intent": 0.45}
    assert asked == [{}, *({"explicit_intent": t} for t in (0.45, 0.4, 0.35, 0.3))]
    found[0.4], alarms[0.4] = 99, 6       # now 0.4 is deeper inside: recall +0.04, precision +0.043, alarms +0.02
    assert train._choose_recall_threshold("crisis", gold, served, lambda _: None) == {"explicit_intent": 0.4}
