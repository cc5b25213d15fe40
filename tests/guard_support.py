"""Shared pieces of the guard-tier end-to-end tests: a running ``candor serve`` whose policies use a guard
model of each format (served by ``tests/guard_stub.py``) and Guardrails validators of the tests' own, the
provider stub, a webhook receiver and the auditor API. This module holds no tests itself; the test modules load it
as a plugin (``pytest_plugins``), so its session fixtures are one for all of them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests import web
from tests.guard_stub import GuardStub, build_guard_app
from tests.proxy import ROOT, ProxyProcess
from tests.stubs import ServerThread, StubProvider
from tests.test_alerts_support import SECRET, Receiver, emptied, running_receiver

AUDITOR = "auditor-key-guard"
ADMIN = "admin-key-guard"
TIMEOUT = 0.3   # the hang tests' guard timeout

# a language the local tiers do not read (they catch the English and Chinese ways of saying this): only the
# guard, which reads the stub's HARM-SELF marker, sees the crisis
CRISIS_TEXT = "HARM-SELF Ya regalé a mi gato y escribí las cartas, todo está listo."
VIOLENT_REPLY = "Sure thing. HARM-VIOLENCE here is how to hurt him. Anything else?"
DECLINE = "Sorry, I can't help with that part."

_BASE = "extends: cn-anthropomorphic-2026\n"


def _policy(pid: str, guard: str | None, validators: list[str]) -> str:
    text = f"id: {pid}\n{_BASE}title: guard test {pid}\n"
    if guard is not None:
        text += f"detection:\n  guard: {guard}\n"
    if validators:
        text += "output_validators:\n" + "".join(f"  - {v}\n" for v in validators)
    return text


BLOCK = "{name: prohibited_content, on_fail: block, cites: [ANTH-PROHIBIT-1]}"
REWRITE = "{name: prohibited_content, on_fail: rewrite, cites: [ANTH-PROHIBIT-1]}"
PRIVACY = "{name: privacy_probing, on_fail: rewrite, cites: [ANTH-PROHIBIT-3]}"

# app id -> (policy id, policy text)
POLICIES: dict[str, str] = {
    "mod": _policy("guard-mod", "{model: guard-mod, format: openai_moderation, checks: [crisis, prohibited_content], "
                   "timeout: 2s}", [BLOCK]),
    "llama": _policy("guard-llama", "{model: guard-llama, format: llama_guard, checks: [crisis, prohibited_content, "
                     "privacy_probing], timeout: 2s}", [BLOCK, PRIVACY]),
    "qwen": _policy("guard-qwen", "{model: guard-qwen, format: qwen3guard, checks: [crisis, prohibited_content], "
                    "timeout: 2s}", [REWRITE]),
    "judge": _policy("guard-judge", "{model: guard-judge, format: judge, checks: [crisis, prohibited_content, "
                     "privacy_probing], timeout: 2s}", [REWRITE, PRIVACY]),
    "end": _policy("guard-end", "{model: guard-qwen, format: qwen3guard, checks: [prohibited_content], "
                   "output: end, timeout: 2s}", [BLOCK]),
    "local": _policy("guard-local", f"{{model: guard-llama, format: llama_guard, checks: [crisis], "
                     f"timeout: {int(TIMEOUT * 1000)}ms, on_error: local}}", []),
    "refuse": _policy("guard-refuse", f"{{model: guard-llama, format: llama_guard, checks: [crisis], "
                      f"timeout: {int(TIMEOUT * 1000)}ms, on_error: refuse}}", []),
    "gr": _policy("guard-gr", None, [
        "{guardrails: 'tests.guardrails_custom:ForbiddenTopic', args: {topic: unicorn smuggling}, on_fail: block, "
        "cites: [ANTH-PROHIBIT-1]}",
        "{guardrails: 'tests.guardrails_custom:RudeWord', on_fail: rewrite, cites: [ANTH-PROHIBIT-2]}",
        "{guardrails: 'tests.guardrails_custom:MentionsWeather', on_fail: flag, cites: [ANTH-PROHIBIT-1]}",
        "{guardrails: 'tests.guardrails_custom:Explodes', on_fail: block, on_error: pass, cites: [ANTH-PROHIBIT-1]}",
    ]),
    "plain": "",   # the shipped cn-anthropomorphic-2026, no guard
}
FORMAT_APPS = ("mod", "llama", "qwen", "judge")


def key(app: str) -> str:
    return f"sk-guard-{app}"


def guard_models(guard_url: str) -> list[dict[str, Any]]:
    return [
        {"name": "guard-mod", "target": "openai/omni-moderation-latest", "api_base": f"{guard_url}/mod/v1"},
        {"name": "guard-llama", "target": "hosted_vllm/meta-llama/Llama-Guard-4-12B",
         "api_base": f"{guard_url}/llama/v1"},
        {"name": "guard-qwen", "target": "hosted_vllm/Qwen/Qwen3Guard-Gen-8B", "api_base": f"{guard_url}/qwen/v1"},
        {"name": "guard-judge", "target": "openai/gpt-4o-mini", "api_base": f"{guard_url}/judge/v1"},
    ]


@pytest.fixture(scope="session")
def guard_stub() -> Iterator[GuardStub]:
    stub = GuardStub()
    with ServerThread(build_guard_app(stub)) as server:
        stub.url = server.url
        yield stub


@pytest.fixture(autouse=True)
def _reset_guard(request: pytest.FixtureRequest) -> None:
    if "guard_stub" in request.fixturenames:
        request.getfixturevalue("guard_stub").reset()


@pytest.fixture(scope="session")
def _guard_receiver() -> Iterator[Receiver]:
    """The webhook receiver the guarded proxy alerts to (its own: it lives as long as the proxy)."""
    with running_receiver() as receiver:
        yield receiver


@pytest.fixture
def guard_receiver(_guard_receiver: Receiver) -> Receiver:
    """What ``tests.test_alerts_support.receiver`` is for its proxies, for the guarded one: emptied for each test."""
    return emptied(_guard_receiver)


@pytest.fixture(scope="session")
def guarded(stub: StubProvider, guard_stub: GuardStub, _guard_receiver: Receiver,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    """One proxy for the guard modules (tests/test_e2e_guard.py, tests/test_e2e_guardrails_validators.py), as
    it already was for each module's tests: its start costs ~3.5 s of CPU (LiteLLM and Guardrails AI are
    imported). Each test is its own user, and the guard stub is reset for each (``_reset_guard``)."""
    tmp = tmp_path_factory.mktemp("guard-proxy")
    pdir = tmp / "policies"
    pdir.mkdir()
    apps = []
    env = {"STUB_KEY": "sk-stub", "CANDOR_AUDITOR_KEY": AUDITOR, "CANDOR_ADMIN_KEY": ADMIN,
           "CANDOR_WEBHOOK_SECRET": SECRET.decode(), "PYTHONPATH": str(ROOT)}
    for app, text in POLICIES.items():
        pid = "cn-anthropomorphic-2026"
        if text:
            pid = text.split("\n", 1)[0].removeprefix("id: ")
            (pdir / f"{pid}.yaml").write_text(text)
        apps.append({"id": app, "key_env": f"APP_{app.upper()}", "policy": pid})
        env[f"APP_{app.upper()}"] = key(app)
    config = {
        "models": [{"name": "companion", "target": "openai/stub-model", "api_base": f"{stub.url}/v1",  # type: ignore[attr-defined]
                    "api_key_env": "STUB_KEY", "timeout": "5s"}, *guard_models(guard_stub.url)],
        "apps": apps, "policies_dir": str(pdir), "audit": {"url": f"sqlite:///{tmp}/audit.db"},
        "alerts": {"webhook_url": _guard_receiver.url, "poll_interval": 0.1, "timeout": 2.0},
    }
    with ProxyProcess(tmp, config, env) as proc:
        yield proc


def client(proxy: ProxyProcess, app: str) -> openai.OpenAI:
    return web.OpenAI(base_url=proxy.url + "/v1", api_key=key(app), max_retries=0, timeout=20)


def ask(proxy: ProxyProcess, app: str, text: str, user: str, stream: bool, c: openai.OpenAI | None = None
        ) -> tuple[str, dict[str, Any], list[str]]:
    """(assistant text, compliance, the content pieces as the client received them)."""
    c = c or client(proxy, app)
    msgs = [{"role": "user", "content": text}]
    headers = {"X-Candor-User": user}
    if not stream:
        reply = c.chat.completions.create(model="companion", messages=msgs, extra_headers=headers)  # type: ignore[arg-type]
        content = reply.choices[0].message.content or ""
        return content, (reply.model_extra or {})["compliance"], [content]
    chunks = list(c.chat.completions.create(model="companion", messages=msgs, extra_headers=headers,  # type: ignore[arg-type]
                                            stream=True))
    first = (chunks[0].model_extra or {})["compliance"]
    last = (chunks[-1].model_extra or {})["compliance"]
    pieces = [ch.choices[0].delta.content or "" for ch in chunks if ch.choices]
    return "".join(pieces), {**last, "notices": first["notices"], "label": first["label"]}, pieces


def events(proxy: ProxyProcess, user: str, kind: str | None = None) -> list[dict[str, Any]]:
    query = f"/audit/events?user={user}" + (f"&kind={kind}" if kind else "")
    resp = web.get(proxy.url + query, headers={"authorization": f"Bearer {AUDITOR}"}, timeout=10)
    assert resp.status_code == 200, resp.text
    data: list[dict[str, Any]] = resp.json()["data"]
    return data


def decision(event: dict[str, Any], rule: str) -> dict[str, Any]:
    found: dict[str, Any] = next(d for d in event["decisions"] if d["rule"] == rule)
    return found


def event_of(proxy: ProxyProcess, user: str, event_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        found = [e for e in events(proxy, user) if e["event_id"] == event_id]
        if found:
            return found[0]
        assert time.monotonic() < deadline, f"no audit event {event_id}"
        time.sleep(0.05)


def metric(proxy: ProxyProcess, name: str, **labels: str) -> float:
    text = web.get(proxy.url + "/metrics", timeout=10).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def wait_for(predicate: Any, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


__all__ = ["Path"]
