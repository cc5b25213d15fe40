"""End-to-end: with ``media.c2pa_cert``/``c2pa_key`` configured, images and audio leave the proxy with a
signed C2PA manifest as well as Candor's labels (demo model, no provider needed)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from middleware.media.c2pa_sign import TRAINED, read_manifest
from middleware.media.inspect import inspect_bytes
from tests import web
from tests.conftest import APP_KEY
from tests.media_certs import signing_pair
from tests.proxy import ProxyProcess

pytest.importorskip("c2pa")


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    tmp: Path = tmp_path_factory.mktemp("c2pa")
    chain, key = signing_pair()
    (tmp / "signer.pem").write_bytes(chain)
    (tmp / "signer.key").write_bytes(key)
    (tmp / "policies").mkdir()
    cfg = {"apps": [{"id": "app", "key_env": "E2E_APP_KEY"}], "policies_dir": str(tmp / "policies"),
           "audit": {"url": f"sqlite:///{tmp}/audit.db"},
           "media": {"c2pa_cert": str(tmp / "signer.pem"), "c2pa_key": str(tmp / "signer.key")},
           "operator": {"name": "Example Companion Co.", "code": "example-co"}}
    p = ProxyProcess(tmp, cfg, {"E2E_APP_KEY": APP_KEY}).start(timeout=120)
    try:
        yield p
    finally:
        p.stop()


def test_images_and_speech_carry_a_signed_manifest_and_the_labels(proxy: ProxyProcess) -> None:
    client = web.OpenAI(base_url=proxy.url + "/v1", api_key=APP_KEY, max_retries=0, timeout=30)
    image = client.images.generate(model="candor-demo", prompt="a quiet lake", size="512x512")
    data = base64.b64decode(image.data[0].b64_json or "")
    store = read_manifest(data, "image/png")
    assert store is not None
    active = store["manifests"][store["active_manifest"]]
    assert TRAINED in str(active["assertions"])
    report = inspect_bytes(data)
    assert report["labelled"]["explicit"] is True and report["labelled"]["implicit"] is True
    assert image.model_extra["compliance"]["label"]["implicit"]["ContentProducer"]   # type: ignore[index]

    speech = client.audio.speech.create(model="candor-demo", voice="alloy", input="你好", response_format="wav")
    assert read_manifest(speech.content, "audio/wav") is not None
    assert inspect_bytes(speech.content)["explicit"]["present"] is True
