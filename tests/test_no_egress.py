"""Nothing leaves the machine but traffic to the configured provider and alert webhook (rule 5).

A real proxy process runs with Python audit hooks recording every connection and name lookup while it
serves chats through the pass-through adapter, LiteLLM (Anthropic wire format) and the demo model,
imports LiteLLM and validates text with a Guardrails AI guard; and, under a policy with a guard model
(``detection.guard``, a local stub in Llama Guard's wire format) and an operator's own Guardrails validator
named by class path, judges the user's turn and the reply's sentences. Every attempt must be to loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml

from tests import web
from tests.conftest import APP_KEY, UPSTREAM_KEY
from tests.guard_stub import GuardStub, build_guard_app
from tests.stubs import Script, ServerThread, StubProvider, free_port

LOOPBACK_HOSTS = ("'127.0.0.1'", "'localhost'", "'::1'")
GUARD_KEY = "sk-candor-egress-guard"
GUARDED_POLICY = """
id: egress-guard
extends: cn-anthropomorphic-2026
title: a guard model and an operator's Guardrails validator
detection:
  guard: {model: guard, format: llama_guard, checks: [crisis, prohibited_content], timeout: 2s}
output_validators:
  - {name: prohibited_content, on_fail: block, cites: [ANTH-PROHIBIT-1]}
  - {guardrails: "tests.guardrails_custom:RudeWord", on_fail: rewrite, cites: [ANTH-PROHIBIT-2]}
"""


def _loopback(attempt: dict[str, str]) -> bool:
    if attempt["event"] == "socket.getaddrinfo":
        return attempt["host"] in LOOPBACK_HOSTS
    address = attempt["address"]   # repr of (host, port[, ...]) for IP sockets, of a path for Unix sockets
    return address.startswith(("('127.0.0.1'", "('::1'", "'/", "b'/"))


def test_only_the_configured_provider_is_contacted(tmp_path: Path, stub: StubProvider) -> None:
    guard = GuardStub()
    with ServerThread(build_guard_app(guard)) as server:
        guard.url = server.url
        _serve_and_check(tmp_path, stub, guard)
    assert [c["format"] for c in guard.calls][:1] == ["llama"] and len(guard.calls) >= 4   # the guard was asked


def _serve_and_check(tmp_path: Path, stub: StubProvider, guard: GuardStub) -> None:
    port = free_port()
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "egress-guard.yaml").write_text(GUARDED_POLICY)
    config = {
        "server": {"host": "127.0.0.1", "port": port},
        "models": [
            {"name": "companion", "target": "openai/stub-model", "api_base": f"{stub.url}/v1",  # type: ignore[attr-defined]
             "api_key_env": "STUB_KEY"},
            {"name": "claude", "target": "anthropic/claude-3-5-sonnet-20240620", "api_base": stub.url,  # type: ignore[attr-defined]
             "api_key_env": "STUB_KEY"},
            {"name": "candor-demo", "target": "candor/demo"},
            {"name": "guard", "target": "hosted_vllm/meta-llama/Llama-Guard-4-12B",
             "api_base": f"{guard.url}/llama/v1"},
        ],
        "apps": [{"id": "egress", "key_env": "E2E_APP_KEY"},
                 {"id": "egress-guard", "key_env": "E2E_GUARD_KEY", "policy": "egress-guard"}],
        "policies_dir": str(tmp_path / "policies"),
        "audit": {"url": f"sqlite:///{tmp_path}/audit.db"},
    }
    (tmp_path / "candor.yaml").write_text(yaml.safe_dump(config))
    log = tmp_path / "egress.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LITELLM_")}   # the code must set it itself
    env.update({"CANDOR_EGRESS_LOG": str(log), "CANDOR_CONFIG": str(tmp_path / "candor.yaml"),
                "STUB_KEY": UPSTREAM_KEY, "E2E_APP_KEY": APP_KEY, "E2E_GUARD_KEY": GUARD_KEY, "HOME": str(tmp_path),
                "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    proc = subprocess.Popen([sys.executable, "-m", "tests.egress_probe", str(port)],
                            cwd=Path(__file__).resolve().parents[1], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120   # LiteLLM and Guardrails import slowly on a busy machine
        while True:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else "probe died"
            try:
                if web.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the probe did not start"
            time.sleep(0.1)
        client = web.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=APP_KEY, max_retries=0,
                            default_headers={"X-Candor-User": "egress-user"})
        stub.push(Script(text="one"), Script(text="two"), Script(text="three"), Script(text="four"))
        for model in ("companion", "claude", "candor-demo"):
            client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
            list(client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}],
                                                stream=True))
        guarded = web.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=GUARD_KEY, max_retries=0,
                             default_headers={"X-Candor-User": "egress-guarded"})
        stub.push(Script(text="What a stupid question. HARM-VIOLENCE do this."), Script(text="Fine. Thanks."))
        reply = guarded.chat.completions.create(model="companion", messages=[{"role": "user", "content": "hi"}])
        assert "silly" in (reply.choices[0].message.content or "")
        list(guarded.chat.completions.create(model="companion", messages=[{"role": "user", "content": "hi"}],
                                             stream=True))
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    attempts = [json.loads(line) for line in log.read_text().splitlines()]
    assert any(a["event"] == "socket.connect" for a in attempts), "the hooks saw nothing: the probe is broken"
    outside = [a for a in attempts if not _loopback(a)]
    assert outside == [], f"connections or lookups beyond loopback: {outside}"
