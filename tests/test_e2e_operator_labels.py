"""End-to-end (openai SDK, running proxy): labels satisfy GB 45438 in every language, the implicit label
names the operator from candor.yaml (never the product), and notices may show {operator} and
{filing_number} (issue 13 item 7). Streaming and not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import yaml

from adapters.root import build_app
from middleware.config.deployment import load_config
from tests.clockproxy import VirtualClock, running_proxy, sdk
from tests.stubs import ServerThread, StubProvider
from tests.vulnerable_support import ask

FILED = """
id: test-filed
extends: cn-anthropomorphic-2026
title: a disclosure naming the operator and its filing number
disclosure:
  notice:
    zh-CN: 你正在与{operator}提供的人工智能交流（备案号：{filing_number}）。
    en: "You are chatting with an AI provided by {operator} (filing {filing_number})."
  cites: [ANTH-DISCLOSE-1]
"""


def config(stub: StubProvider, operator: dict[str, str]) -> dict[str, Any]:
    return {"models": [{"name": "companion", "target": "openai/stub-model", "api_base": f"{stub.url}/v1",  # type: ignore[attr-defined]
                        "api_key_env": "STUB_KEY"}],
            "apps": [{"id": "cn", "key_env": "APP_CN", "policy": "test-filed"}],
            "operator": operator}


ENV = {"STUB_KEY": "sk-stub", "APP_CN": "sk-operator-cn"}
OPERATOR = {"name": "星河科技有限公司", "code": "XINGHE-AI-001", "filing_number": "Beijing-202601-0042"}


@pytest.fixture
def proxy(tmp_path: Path, stub: StubProvider) -> Iterator[tuple[ServerThread, VirtualClock]]:
    with running_proxy(tmp_path, config(stub, OPERATOR), {"test-filed": FILED}, env=ENV) as running:
        yield running


@pytest.mark.parametrize("stream", [False, True])
def test_english_users_get_a_label_with_ai_and_shengcheng(proxy: Any, stub: StubProvider, stream: bool) -> None:
    server, _ = proxy
    text, comp, _ = ask(sdk(server, ENV["APP_CN"]), "Hello there, how are you?", f"en-{stream}", stream)
    assert comp["label"]["explicit"] == "AI生成 · AI-generated" and "AI生成 · AI-generated" in text


@pytest.mark.parametrize("stream", [False, True])
def test_implicit_label_names_the_operator_code_and_notices_fill_the_placeholders(
        proxy: Any, stub: StubProvider, stream: bool) -> None:
    server, _ = proxy
    text, comp, _ = ask(sdk(server, ENV["APP_CN"]), "你好", f"zh-{stream}", stream)
    implicit = comp["label"]["implicit"]
    assert implicit["ContentProducer"] == "XINGHE-AI-001" and implicit["ContentPropagator"] == "XINGHE-AI-001"
    assert "candor" not in (implicit["ContentProducer"] + implicit["ContentPropagator"]).lower()
    (notice,) = [n for n in comp["notices"] if n["kind"] == "ai_disclosure"]
    assert notice["text"] == "你正在与星河科技有限公司提供的人工智能交流（备案号：Beijing-202601-0042）。"
    assert notice["text"] in text and "{operator}" not in text and "{filing_number}" not in text


@pytest.mark.parametrize("stream", [False, True])
def test_without_a_code_the_operator_name_is_used_percent_encoded(tmp_path: Path, stub: StubProvider,
                                                                  stream: bool) -> None:
    operator = {"name": "星河科技", "filing_number": "F-1"}
    with running_proxy(tmp_path, config(stub, operator), {"test-filed": FILED}, env=ENV) as (server, _):
        _, comp, _ = ask(sdk(server, ENV["APP_CN"]), "你好", "name-only", stream)
    producer = comp["label"]["implicit"]["ContentProducer"]
    assert all(ch.isprintable() and ch.isascii() and ch not in ' "\\' for ch in producer)
    assert unquote(producer) == "星河科技" and comp["label"]["implicit"]["ContentPropagator"] == producer


def test_a_policy_showing_a_filing_number_the_deployment_lacks_is_refused_at_start_up(
        tmp_path: Path, stub: StubProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    pdir = tmp_path / "policies"
    pdir.mkdir()
    (pdir / "test-filed.yaml").write_text(FILED)
    cfg_path = tmp_path / "candor.yaml"

    cfg = {**config(stub, {"code": "XINGHE-AI-001"}), "policies_dir": str(pdir),
           "audit": {"url": f"sqlite:///{tmp_path}/audit.db"}}
    cfg_path.write_text(yaml.safe_dump(cfg, allow_unicode=True))
    monkeypatch.setenv("APP_CN", ENV["APP_CN"])
    with pytest.raises(ValueError, match=r"filing_number.*operator\.filing_number"):
        build_app(load_config(cfg_path, environ={}), clock=VirtualClock())


def test_operator_code_must_fit_the_implicit_label(tmp_path: Path) -> None:
    from middleware.config.yamlfile import FileProblems

    path = tmp_path / "candor.yaml"
    path.write_text('operator: {code: "has space"}\n')
    with pytest.raises(FileProblems, match="LABEL-IMPLICIT-1"):
        load_config(path, environ={})
