"""Labelling what a provider returned (middleware/media/labelling.py): images from base64 or a fetched URL,
audio, who the implicit label names, ``labels.position: ui`` and unlabelled delivery, a policy without
labels, and files that cannot be labelled or are too large never delivered."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from middleware.config.deployment import CandorConfig
from middleware.media.inspect import inspect_bytes
from middleware.media.labelling import Labeller
from middleware.media.upstream import Audio
from middleware.pipeline.upstream import UpstreamFailure
from middleware.testing import make_exchange, policy
from tests.media_samples import encode, photo, wav_bytes

PNG = encode(photo(200, 160), "png")


class Fetcher:
    def __init__(self, data: bytes) -> None:
        self.data, self.urls = data, []

    async def fetch(self, url: str, limit: int, timeout: float) -> bytes:  # noqa: ASYNC109
        self.urls.append(url)
        return self.data

    async def aclose(self) -> None:
        return None


def _labeller(cfg: CandorConfig | None = None, fetched: bytes = PNG) -> tuple[Labeller, Fetcher]:
    f = Fetcher(fetched)
    return Labeller(cfg or CandorConfig.model_validate({"operator": {"code": "OP-CODE"}}), lambda: f), f


async def test_images_from_base64_and_urls_are_labelled_per_image() -> None:
    lab, fetcher = _labeller()
    ex = make_exchange(event_id="evt-img")
    out = await lab.images(ex, {"created": 1, "data": [{"b64_json": base64.b64encode(PNG).decode()},
                                                       {"url": "https://blob.test/x.png", "revised_prompt": "p"}]})
    assert fetcher.urls == ["https://blob.test/x.png"]
    assert "url" not in out["data"][1] and out["data"][1]["revised_prompt"] == "p" and out["output_format"]
    for item in out["data"]:
        assert inspect_bytes(base64.b64decode(item["b64_json"]))["labelled"]["any"]
    d = ex.decisions[-1]
    assert d["rule"] == "media_labels" and d["outcome"] == "labelled" and len(d["detail"]["files"]) == 2
    assert ex.label is not None and ex.label["implicit"]["ContentProducer"] == "OP-CODE"
    assert ex.label["implicit"]["ProduceID"] == "evt-img-0"       # one id per image when several


async def test_ui_position_and_unlabelled_delivery_are_recorded_as_such() -> None:
    pol = policy("cn-anthropomorphic-2026")
    assert pol.labels is not None
    ui = pol.model_copy(update={"labels": pol.labels.model_copy(update={"position": "ui"})})
    lab, _ = _labeller()
    ex = make_exchange(ui)
    await lab.images(ex, {"data": [{"b64_json": base64.b64encode(PNG).decode()}]})
    assert ex.decisions[-1]["outcome"] == "delegated" and "label_delegated" in ex.actions
    assert ex.label is not None and ex.label["position"] == "ui"
    ex = make_exchange()
    ex.state.unlabeled = True
    await lab.images(ex, {"data": [{"b64_json": base64.b64encode(PNG).decode()}]})
    assert ex.decisions[-1]["outcome"] == "unlabeled" and "unlabeled_delivery" in ex.actions
    assert ex.reply and ex.reply[-1].startswith("sha256:")      # the digest of what was delivered is recorded


async def test_a_policy_without_labels_labels_nothing_and_says_so() -> None:
    bare = policy("cn-anthropomorphic-2026").model_copy(update={"labels": None})
    lab, _ = _labeller()
    ex = make_exchange(bare)
    out = await lab.images(ex, {"data": [{"b64_json": base64.b64encode(PNG).decode()}]})
    assert base64.b64decode(out["data"][0]["b64_json"]) == PNG
    assert ex.decisions[-1]["outcome"] == "off"
    labelled = await lab.audio(make_exchange(bare), Audio(b"RIFF....", "audio/wav"))
    assert labelled.data == b"RIFF...." and labelled.implicit == {}


async def test_audio_is_labelled_and_its_headers_say_how() -> None:
    lab, _ = _labeller()
    ex = make_exchange()
    labelled = await lab.audio(ex, Audio(wav_bytes(seconds=0.5), "audio/wav"))
    assert inspect_bytes(labelled.data)["labelled"]["any"]
    headers = Labeller.audio_headers(ex, labelled)
    assert headers["x-candor-label-explicit"] == "rhythm" and "OP-CODE" in headers["x-candor-label-implicit"]


@pytest.mark.parametrize(("reply", "words"), [
    ({}, "no images"),
    ({"data": [{"b64_json": "%%%"}]}, "not valid base64"),
    ({"data": [{"b64_json": base64.b64encode(b"not an image").decode()}]}, "cannot be labelled"),
    ({"data": [{"revised_prompt": "x"}]}, "neither b64_json nor url"),
])
async def test_what_cannot_be_labelled_is_not_delivered(reply: dict[str, Any], words: str) -> None:
    lab, _ = _labeller()
    with pytest.raises(UpstreamFailure, match=words):
        await lab.images(make_exchange(), reply)


async def test_files_larger_than_the_limit_are_refused() -> None:
    cfg = CandorConfig.model_validate({"media": {"max_file_bytes": 1024}})
    lab, _ = _labeller(cfg)
    with pytest.raises(UpstreamFailure, match="max_file_bytes"):
        await lab.images(make_exchange(), {"data": [{"b64_json": base64.b64encode(PNG).decode()}]})
    with pytest.raises(UpstreamFailure, match="max_file_bytes"):
        await lab.audio(make_exchange(), Audio(b"x" * 2048, "audio/wav"))
