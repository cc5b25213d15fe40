"""Optional C2PA manifests (``c2pa-python``) signed with a locally generated test certificate."""

from __future__ import annotations

import pytest

from middleware.media import aigc
from middleware.media.apply import LabelOptions, apply
from middleware.media.c2pa_sign import TRAINED, C2paSigner, read_manifest
from middleware.media.inspect import inspect_bytes
from tests.media_certs import signing_pair
from tests.media_samples import encode, mp3_bytes, photo, wav_bytes

pytest.importorskip("c2pa")


@pytest.fixture(scope="module")
def signer() -> C2paSigner:
    return C2paSigner(*signing_pair())


@pytest.mark.parametrize(("data", "media_type"), [
    (encode(photo(300, 200), "png"), "image/png"), (encode(photo(300, 200), "jpeg"), "image/jpeg"),
    (encode(photo(300, 200), "webp"), "image/webp"), (wav_bytes(seconds=0.5), "audio/wav"),
    (mp3_bytes(seconds=0.5), "audio/mpeg"),
])
def test_a_signed_manifest_says_trained_algorithmic_media_and_the_labels_survive(
        signer: C2paSigner, data: bytes, media_type: str) -> None:
    labelled = apply(data, LabelOptions(aigc.Stamp("OP", "OP", "e1")))
    signed = signer(labelled.data, media_type)
    store = read_manifest(signed, media_type)
    assert store is not None
    active = store["manifests"][store["active_manifest"]]
    actions = [a for s in active["assertions"] if s["label"].startswith("c2pa.actions") for a in s["data"]["actions"]]
    assert {"action": "c2pa.created", "digitalSourceType": TRAINED}.items() <= actions[0].items()
    # signed by a certificate nobody trusts (a test CA), but the manifest itself is intact
    assert store["validation_state"] == "Valid"
    assert {s["code"] for s in store.get("validation_status", [])} <= {"signingCredential.untrusted"}
    report = inspect_bytes(signed)
    assert report["labelled"]["implicit"] and report["labelled"]["explicit"] and report["c2pa"]["found"]


def test_a_file_without_a_manifest_reads_as_none() -> None:
    assert read_manifest(encode(photo(50, 50), "png"), "image/png") is None
    assert inspect_bytes(apply(encode(photo(120, 120), "png"), LabelOptions(aigc.Stamp("a", "a", "b"))).data)[
        "c2pa"] == {"checked": True, "found": False}
