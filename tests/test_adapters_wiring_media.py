"""The media wiring (adapters/wiring/media.py): one media adapter per kind of configured model, the C2PA
signer only with both PEM files, and the routes plus a hook that closes what was opened."""

from __future__ import annotations

import dataclasses

import pytest

from adapters.media.demo import DemoMediaUpstream
from adapters.media.openai_compat import OpenAIMediaUpstream
from adapters.wiring.media import build_media, build_media_upstreams, build_signer
from middleware.config.deployment import CandorConfig
from middleware.media.chat import ChatMediaLabeller
from middleware.pipeline.stages import Pipeline
from middleware.testing import ROUTE, RecordingRecorder
from tests.endpoint_support import Policies, services


def test_one_adapter_per_kind_and_nothing_for_chat_only_kinds() -> None:
    ups = build_media_upstreams({"passthrough", "demo", "scripted"})
    assert set(ups) == {"passthrough", "demo"}
    assert isinstance(ups["passthrough"], OpenAIMediaUpstream) and isinstance(ups["demo"], DemoMediaUpstream)
    assert build_media_upstreams(set()) == {}


def test_the_signer_needs_both_files_or_neither() -> None:
    assert build_signer(CandorConfig()) is None
    with pytest.raises(ValueError, match="go together"):
        build_signer(CandorConfig.model_validate({"media": {"c2pa_cert": "cert.pem"}}))


async def test_build_media_serves_the_media_routes_and_labels_chat_media() -> None:
    demo = dataclasses.replace(ROUTE, name="candor-demo", adapter="demo")
    svc, _ = services({}, routes=(demo,))
    pipeline: Pipeline = svc.pipeline
    assert isinstance(pipeline.recorder, RecordingRecorder)
    routes, close = build_media(CandorConfig(), svc.keys, Policies(), "cn-anthropomorphic-2026", pipeline)
    paths = {r.path for r in routes}
    assert {"/v1/images/generations", "/v1/images/edits", "/v1/audio/speech"} <= paths
    assert isinstance(pipeline.message_media, ChatMediaLabeller)
    assert pipeline.delta_media == pipeline.message_media.delta
    await close()
