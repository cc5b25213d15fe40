"""End-to-end (openai SDK, running proxy, virtual clock): a usage reminder's ``{interval}`` shows the policy's
``remind_every`` in the reader's words (issue 15)."""

from __future__ import annotations

from pathlib import Path

from tests.clockproxy import running_proxy, sdk
from tests.stubs import StubProvider

KEY = "sk-interval-test"
POLICY = """
id: test-interval
extends: cn-anthropomorphic-2026
title: a reminder that shows its interval
usage:
  continuous_idle_reset: 30s
  remind_every: 90s
  notice:
    zh-CN: "你已经连续聊了{interval}，休息一下吧。"
    en: "You have been chatting for {interval}; take a break."
  cites: [ANTH-TIME-1]
"""


def test_the_reminder_shows_its_interval(tmp_path: Path, stub: StubProvider) -> None:
    cfg = {"models": [{"name": "companion", "target": "openai/stub-model", "api_base": f"{stub.url}/v1",  # type: ignore[attr-defined]
                       "api_key_env": "STUB_KEY"}],
           "apps": [{"id": "interval", "key_env": "APP_INTERVAL", "policy": "test-interval"}]}
    with running_proxy(tmp_path, cfg, {"test-interval": POLICY},
                       env={"STUB_KEY": "sk-stub", "APP_INTERVAL": KEY}) as (server, clock):
        client = sdk(server, KEY)
        texts = []
        for _ in range(6):   # a message every 20 s: continuous use
            reply = client.chat.completions.create(model="companion", messages=[{"role": "user", "content": "还在"}],
                                                   extra_headers={"X-Candor-User": "interval-user"})
            texts.append(reply.choices[0].message.content or "")
            notices = (reply.model_extra or {})["compliance"]["notices"]
            reminders = [n for n in notices if n["kind"] == "usage_reminder"]
            if reminders:
                assert reminders[0]["text"] == "你已经连续聊了1分钟30秒，休息一下吧。"
                break
            clock.advance(20)
        else:
            raise AssertionError(f"no usage reminder in {texts}")
        assert "{interval}" not in texts[-1] and "你已经连续聊了" in texts[-1]
