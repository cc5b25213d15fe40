"""Nothing leaves the machine but traffic to the configured provider and alert webhook (rule 5).

A real proxy process runs with Python audit hooks recording every connection and name lookup while it
serves chats through the pass-through adapter, LiteLLM (Anthropic wire format) and the demo model,
imports LiteLLM and validates text with a Guardrails AI guard. Every attempt must be to loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import yaml

from tests.conftest import APP_KEY, UPSTREAM_KEY
from tests.stubs import Script, StubProvider, free_port

LOOPBACK_HOSTS = ("'127.0.0.1'", "'localhost'", "'::1'")


def _loopback(attempt: dict[str, str]) -> bool:
    if attempt["event"] == "socket.getaddrinfo":
        return attempt["host"] in LOOPBACK_HOSTS
    address = attempt["address"]   # repr of (host, port[, ...]) for IP sockets, of a path for Unix sockets
    return address.startswith(("('127.0.0.1'", "('::1'", "'/", "b'/"))


def test_only_the_configured_provider_is_contacted(tmp_path: Path, stub: StubProvider) -> None:
    port = free_port()
    (tmp_path / "policies").mkdir()
    config = {
        "server": {"host": "127.0.0.1", "port": port},
        "models": [
            {"name": "companion", "target": "openai/stub-model", "api_base": f"{stub.url}/v1",  # type: ignore[attr-defined]
             "api_key_env": "STUB_KEY"},
            {"name": "claude", "target": "anthropic/claude-3-5-sonnet-20240620", "api_base": stub.url,  # type: ignore[attr-defined]
             "api_key_env": "STUB_KEY"},
            {"name": "candor-demo", "target": "candor/demo"},
        ],
        "apps": [{"id": "egress", "key_env": "E2E_APP_KEY"}],
        "policies_dir": str(tmp_path / "policies"),
        "audit": {"url": f"sqlite:///{tmp_path}/audit.db"},
    }
    (tmp_path / "candor.yaml").write_text(yaml.safe_dump(config))
    log = tmp_path / "egress.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LITELLM_")}   # the code must set it itself
    env.update({"CANDOR_EGRESS_LOG": str(log), "CANDOR_CONFIG": str(tmp_path / "candor.yaml"),
                "STUB_KEY": UPSTREAM_KEY, "E2E_APP_KEY": APP_KEY, "HOME": str(tmp_path)})
    proc = subprocess.Popen([sys.executable, "-m", "tests.egress_probe", str(port)],
                            cwd=Path(__file__).resolve().parents[1], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120   # LiteLLM and Guardrails import slowly on a busy machine
        while True:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else "probe died"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the probe did not start"
            time.sleep(0.1)
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=APP_KEY, max_retries=0,
                               default_headers={"X-Candor-User": "egress-user"})
        stub.push(Script(text="one"), Script(text="two"), Script(text="three"), Script(text="four"))
        for model in ("companion", "claude", "candor-demo"):
            client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
            list(client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}],
                                                stream=True))
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    attempts = [json.loads(line) for line in log.read_text().splitlines()]
    assert any(a["event"] == "socket.connect" for a in attempts), "the hooks saw nothing: the probe is broken"
    outside = [a for a in attempts if not _loopback(a)]
    assert outside == [], f"connections or lookups beyond loopback: {outside}"
