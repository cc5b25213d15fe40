"""End-to-end: operators edit a policy file and the running proxy picks it up, whole and audited; a bad edit
keeps the running policy (issue 3)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests import web
from tests.clockproxy import running_proxy, sdk
from tests.stubs import StubProvider

POLICY = """
id: ops-policy
extends: cn-anthropomorphic-2026
title: operator policy
usage:
  continuous_idle_reset: 30m
  remind_every: {every}
  cites: [ANTH-TIME-1]
labels:
  text: {label}
  cites: [LABEL-TEXT-1, LABEL-IMPLICIT-1]
"""


def wait_for(predicate, timeout: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_an_edit_is_applied_live_and_a_bad_edit_keeps_the_running_policy(tmp_path: Path, stub: StubProvider) -> None:
    cfg = {"models": [{"name": "companion", "target": "openai/stub-model", "api_base": f"{stub.url}/v1",  # type: ignore[attr-defined]
                       "api_key_env": "STUB_KEY"}],
           "apps": [{"id": "ops", "key_env": "OPS_KEY", "policy": "ops-policy"}]}
    env = {"STUB_KEY": "sk", "OPS_KEY": "k-ops", "CANDOR_AUDITOR_KEY": "auditor-reload"}
    with running_proxy(tmp_path, cfg, {"ops-policy": POLICY.format(every="2h", label="本回复由人工智能生成")},
                       env=env) as (server, _):
        client = sdk(server, "k-ops")

        def ask() -> tuple[str, str]:
            raw = client.chat.completions.with_raw_response.create(
                model="companion", messages=[{"role": "user", "content": "你好"}], extra_headers={"X-Candor-User": "o"})
            return raw.headers["x-candor-policy-version"], raw.parse().choices[0].message.content or ""

        first, text = ask()
        assert "本回复由人工智能生成" in text
        policy_file = tmp_path / "policies" / "ops-policy.yaml"
        policy_file.write_text(POLICY.format(every="90m", label="本内容由AI生成"))
        assert wait_for(lambda: ask()[0] != first), "the edit was not applied within 30 s"
        second, text = ask()
        assert "本内容由AI生成" in text                                   # the whole new policy, label included

        def rejected_count() -> float:   # the counter is the test process's: earlier tests may have counted too
            text = web.get(server.url + "/metrics").text
            return _count(text) if 'candor_policy_reloads_total{result="rejected"}' in text else 0.0

        before = rejected_count()
        policy_file.write_text(POLICY.format(every="90m", label="智能助手"))   # no AI + generation element: refused
        assert wait_for(lambda: rejected_count() > before)
        version, text = ask()
        assert version == second and "本内容由AI生成" in text                # enforcement unchanged

        def outcomes() -> list[str]:   # the audit event is written just after the reload is counted
            events = web.get(server.url + "/audit/events", params={"kind": "policy_reload"},
                             headers={"authorization": "Bearer auditor-reload"}).json()["data"]
            return [d["outcome"] for e in events for d in e["decisions"]]

        assert wait_for(lambda: "rejected" in outcomes())
        assert "applied" in outcomes()
        events = web.get(server.url + "/audit/events", params={"kind": "policy_reload"},
                         headers={"authorization": "Bearer auditor-reload"}).json()["data"]
        rejected = next(d for e in events for d in e["decisions"] if d["outcome"] == "rejected")
        assert any("LABEL-TEXT-1" in p or "人工智能" in p for p in rejected["detail"]["problems"])


def _count(metrics: str) -> float:
    for line in metrics.splitlines():
        if line.startswith('candor_policy_reloads_total{result="rejected"}'):
            return float(line.rsplit(" ", 1)[1])
    pytest.fail("candor_policy_reloads_total{result=\"rejected\"} is missing from /metrics")
