"""Notice texts follow their settings: ``{interval}`` shows the reminder interval, and ``policy check`` warns
when a text states a duration that differs from its setting (issue 15)."""

from __future__ import annotations

from pathlib import Path

import pytest

from middleware.policy.cli import main
from middleware.policy.notice_durations import spoken, stated_seconds, with_interval


@pytest.mark.parametrize("text, seconds", [
    ("你已经连续使用超过2小时了", [7200.0]), ("你已经连续使用两小时了", [7200.0]),
    ("已经三个小时了", [10800.0]), ("休息十五分钟吧", [900.0]), ("more than 2 hours", [7200.0]),
    ("for two hours now", [7200.0]), ("every 30 minutes", [1800.0]), ("no duration here", []),
])
def test_stated_durations_are_read_in_chinese_and_english(text: str, seconds: list[float]) -> None:
    assert stated_seconds(text) == seconds


def test_the_interval_is_spelled_for_the_reader() -> None:
    assert spoken(10800, "zh-CN") == "3小时" and spoken(5400, "zh") == "1小时30分钟"
    assert spoken(10800, "en") == "3 hours" and spoken(1800, "en") == "30 minutes" and spoken(3600, "en") == "1 hour"
    assert with_interval("已连续使用{interval}", 10800, "zh-CN") == "已连续使用3小时"
    assert with_interval("no placeholder", 10800, "en") == "no placeholder"
    assert spoken(90, "zh-CN") == "1分钟30秒" and spoken(90, "en") == "1 minute 30 seconds"


MISMATCH = """\
id: ninety-minutes
extends: cn-anthropomorphic-2026
title: reminders every 90 minutes, text says two hours
usage:
  continuous_idle_reset: 30m
  remind_every: 90m
  notice:
    zh-CN: "你已经连续使用两小时了，请休息。"
    en: "You have been chatting for 2 hours."
  cites: [ANTH-TIME-1]
"""


def test_policy_check_warns_on_a_text_that_contradicts_its_setting(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "ninety-minutes.yaml"
    path.write_text(MISMATCH)
    assert main(["policy", "check", str(path)]) == 0   # a warning, not an error
    err = capsys.readouterr().err
    assert "usage.notice.zh-CN: the text states 2小时 but usage.remind_every is 1小时30分钟" in err
    assert "usage.notice.en: the text states 2 hours but usage.remind_every is 1 hour 30 minutes" in err


def test_policy_check_is_quiet_when_the_text_uses_the_placeholder(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "ninety-minutes.yaml"
    path.write_text(MISMATCH.replace("两小时", "{interval}").replace("2 hours", "{interval}"))
    assert main(["policy", "check", str(path)]) == 0
    assert "warning" not in capsys.readouterr().err
