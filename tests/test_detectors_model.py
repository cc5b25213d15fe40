"""The model tier: shipped weights load from package data, offline, and a model file round-trips."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest

from middleware.detectors.features import DIM, featurize
from middleware.detectors.layer import DetectionLayer
from middleware.detectors.model import MODEL_DIR, ModelBank, save

SHIPPED = ("crisis", "human_claim", "exit", "retention_plea", "emotional_manipulation", "privacy_probing")


def test_every_task_with_a_corpus_ships_a_model() -> None:
    for task in SHIPPED:
        assert (MODEL_DIR / f"{task}.npz").is_file(), task


def test_shipped_models_load_without_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model tier must not open a connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    bank = ModelBank.load()
    assert set(SHIPPED) <= set(bank.models)
    layer = DetectionLayer(models=bank)
    reading = layer.read("今天天气不错，我们去公园走走吧。")
    for task in SHIPPED:
        assert layer.tiers(task) == ("pattern", "model")
        modelled = layer.model(task, reading)
        assert modelled is not None
        _label, score, probs = modelled
        assert set(probs) == set(bank.models[task].labels) and 0.0 <= score <= 1.0


def test_shipped_weights_are_small() -> None:
    total = sum(p.stat().st_size for p in MODEL_DIR.glob("*.npz"))
    assert total < 8 * 1024 * 1024


def test_a_saved_model_loads_with_its_labels_thresholds_and_weights(tmp_path: Path) -> None:
    coef = np.zeros((2, DIM), dtype=np.float32)
    coef[0, featurize("药都攒够了")] = 3.0
    save(tmp_path / "crisis.npz", task="crisis", labels=("explicit_intent", "distress"), coef=coef,
         bias=np.array([-2.0, -3.0]), thresholds={"explicit_intent": 0.3, "distress": 0.6},
         context_levels=("explicit_intent",), metrics={"C": 4})
    bank = ModelBank.load(tmp_path)
    tm = bank.models["crisis"]
    assert tm.labels == ("explicit_intent", "distress")
    assert tm.thresholds == {"explicit_intent": 0.3, "distress": 0.6}
    assert tm.context_levels == ("explicit_intent",)
    j = DetectionLayer(models=bank).judge("crisis", "药都攒够了吧")
    assert j.label == "explicit_intent"


def test_a_model_for_another_feature_version_is_refused(tmp_path: Path) -> None:
    np.savez(tmp_path / "exit.npz", task=np.array("exit"), labels=np.array(["exit"]), rows=np.zeros(0, np.uint32),
             weights=np.zeros((0, 1), np.float16), bias=np.zeros(1, np.float32),
             threshold_labels=np.array(["exit"]), thresholds=np.array([0.5]), context_levels=np.array([], dtype=str),
             feature_version=np.array(999), bits=np.array(18), metrics=np.array("{}"))
    with pytest.raises(ValueError, match="retrain"):
        ModelBank.load(tmp_path)


def test_an_empty_directory_is_an_empty_bank(tmp_path: Path) -> None:
    bank = ModelBank.load(tmp_path)
    assert not bank.models
    assert DetectionLayer(models=bank).tiers("crisis") == ("pattern",)


def test_a_softmax_model_lets_labels_compete_for_one_probability(tmp_path: Path) -> None:
    labels = ("explicit_intent", "property_loss", "distress", "third_party", "none")
    coef = np.zeros((5, DIM), dtype=np.float32)
    coef[2, featurize("活着好累")] = 40.0       # distress
    coef[4, featurize("热得")] = 400.0          # none: the figurative marker outweighs it
    save(tmp_path / "crisis.npz", task="crisis", labels=labels, coef=coef, bias=np.zeros(5), thresholds={},
         context_levels=(), metrics={})
    tm = ModelBank.load(tmp_path).models["crisis"]
    assert tm.kind == "softmax"
    layer = DetectionLayer(models=ModelBank.load(tmp_path))
    _label, _score, probs = layer.model("crisis", layer.read("活着好累")) or ("", 0.0, {})
    assert set(probs) == set(labels) and abs(sum(probs.values()) - 1.0) < 1e-6
    assert max(probs, key=probs.__getitem__) == "distress"
    assert layer.judge("crisis", "活着好累").label == "distress"
    modelled = layer.model("crisis", layer.read("热得活着好累"))
    assert modelled is not None and modelled[0] == "none"


def test_a_softmax_threshold_gives_a_severe_label_before_the_most_probable(tmp_path: Path) -> None:
    from middleware.detectors.layer import decide
    from middleware.detectors.model import TaskModel

    tm = TaskModel("crisis", ("explicit_intent", "distress", "none"), 0, np.zeros(3, dtype=np.float32),
                   {"explicit_intent": 0.3}, ())
    assert decide(tm, {"explicit_intent": 0.35, "distress": 0.05, "none": 0.6}) == ("explicit_intent", 0.35)
    assert decide(tm, {"explicit_intent": 0.25, "distress": 0.05, "none": 0.7}) == ("none", 0.7)
