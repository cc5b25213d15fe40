"""The media endpoints (middleware/media/endpoints.py) on the ASGI app with the offline demo model: images
and speech come back labelled with ``compliance`` and label headers, are recorded, and refusals are in the
OpenAI shape before any provider call."""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

import httpx
from starlette.applications import Starlette

from adapters.media.demo import DemoMediaUpstream
from middleware.config.deployment import CandorConfig
from middleware.media import aigc
from middleware.media.endpoints import MediaDeps, MediaEndpoints
from middleware.media.inspect import inspect_bytes
from middleware.media.labelling import Labeller
from middleware.testing import ROUTE, RecordingRecorder
from tests.endpoint_support import APP_KEY, POLICY, Policies, services

DEMO = dataclasses.replace(ROUTE, name="candor-demo", adapter="demo")


class Counting(DemoMediaUpstream):
    def __init__(self) -> None:
        self.calls = 0

    async def images(self, request: Any) -> dict[str, Any]:
        self.calls += 1
        return await super().images(request)


def _client(up: DemoMediaUpstream) -> tuple[httpx.AsyncClient, RecordingRecorder]:
    cfg = CandorConfig()
    svc, rec = services({}, routes=(DEMO,))

    def no_fetcher() -> Any:
        raise AssertionError("the demo model returns no URLs")

    deps = MediaDeps(config=cfg, keys=svc.keys, policies=Policies(), default_policy=POLICY, pipeline=svc.pipeline,
                     upstreams=lambda: {"demo": up}, labeller=Labeller(cfg, no_fetcher))
    app = Starlette(routes=MediaEndpoints(deps).routes())
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://candor",
                             headers={"authorization": f"Bearer {APP_KEY}"}), rec


async def test_generated_images_are_labelled_and_recorded() -> None:
    client, rec = _client(DemoMediaUpstream())
    async with client:
        r = await client.post("/v1/images/generations", json={"model": "candor-demo", "prompt": "a lighthouse",
                                                              "size": "256x256", "user": "u-1"})
    assert r.status_code == 200, r.text
    body = r.json()
    image = base64.b64decode(body["data"][0]["b64_json"])
    report = inspect_bytes(image)
    assert report["labelled"]["any"] is True
    assert body["compliance"]["label"]["implicit"]["ContentProducer"] is not None
    assert body["compliance"]["event_id"] == r.headers["x-candor-event-id"]
    ex, error = rec.records[-1]
    assert error is None and [d["rule"] for d in ex.decisions].count("media_labels") == 1


async def test_speech_is_an_audio_file_with_label_headers() -> None:
    client, rec = _client(DemoMediaUpstream())
    async with client:
        r = await client.post("/v1/audio/speech", json={"model": "candor-demo", "input": "你好", "voice": "alloy",
                                                        "response_format": "wav", "user": "u-1"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("audio/wav")
    assert r.headers["x-candor-label-explicit"] == "rhythm"
    implicit = aigc.loads(r.headers["x-candor-label-implicit"])
    assert implicit is not None and implicit["Label"] == "1"
    assert inspect_bytes(r.content)["labelled"]["any"] is True
    assert rec.records[-1][1] is None


async def test_refusals_come_before_the_provider() -> None:
    up = Counting()
    client, rec = _client(up)
    async with client:
        bad = await client.post("/v1/images/generations", json={"model": "candor-demo"})
        keyless = await client.post("/v1/images/generations", json={"model": "candor-demo", "prompt": "x"},
                                    headers={"authorization": "Bearer wrong"})
        unknown = await client.post("/v1/images/generations", json={"model": "nope", "prompt": "x", "user": "u"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "prompt"
    assert keyless.status_code == 401 and unknown.status_code == 404
    assert up.calls == 0 and all(err is not None for _, err in rec.records)
