"""The AIGC object (LABEL-IMPLICIT-1) and keeping an upstream label (LABEL-TAMPER-1)."""

from __future__ import annotations

from middleware.media import aigc

STAMP = aigc.Stamp("OP 1", "OP 1", 'evt"1\\')


def test_a_fresh_label_has_the_seven_fields_with_allowed_characters_only() -> None:
    obj = aigc.fresh(STAMP)
    assert list(obj) == list(aigc.FIELDS)
    assert obj["Label"] == "1" and obj["ContentProducer"] == "OP_1" and obj["ProduceID"] == "evt_1_"
    assert aigc.problems(obj) == []


def test_an_upstream_label_keeps_its_producer_fields_and_gains_the_propagator() -> None:
    upstream = {"Label": "2", "ContentProducer": "PROVIDER", "ProduceID": "p-1", "ReservedCode1": "sig",
                "ContentPropagator": "", "PropagateID": "", "ReservedCode2": "", "FutureField": "x"}
    out = aigc.label_for(upstream, aigc.Stamp("OP", "OP", "e-9"))
    assert out["Label"] == "2" and out["ContentProducer"] == "PROVIDER" and out["ProduceID"] == "p-1"
    assert out["ReservedCode1"] == "sig" and out["ContentPropagator"] == "OP" and out["PropagateID"] == "e-9"
    assert out["FutureField"] == "x"


def test_no_upstream_label_means_a_fresh_one() -> None:
    assert aigc.label_for(None, STAMP) == aigc.fresh(STAMP)
    assert aigc.label_for({}, STAMP) == aigc.fresh(STAMP)


def test_problems_name_what_does_not_conform() -> None:
    found = aigc.problems({"Label": "9", "ContentProducer": "a b", "ProduceID": 3})
    assert "Label is not 1, 2 or 3" in found and "missing ReservedCode1" in found
    assert any("ContentProducer" in p for p in found) and "ProduceID is not a string" in found


def test_loads_accepts_objects_only() -> None:
    assert aigc.loads('{"Label":"1"}') == {"Label": "1"}
    assert aigc.loads("[1]") is None and aigc.loads("not json") is None
