"""History hygiene (rules/history.py): Candor's own texts leave the assistant turns, the model's words stay."""

from __future__ import annotations

from pathlib import Path

from middleware.policy.loader import load_policy_file
from middleware.rules.history import HistoryHygiene

PACK = Path(__file__).resolve().parents[1] / "policies" / "cn-anthropomorphic-2026.yaml"


def hygiene() -> HistoryHygiene:
    return HistoryHygiene(load_policy_file(PACK))


def test_notices_and_labels_at_the_start_and_the_end_are_removed() -> None:
    h = hygiene()
    sent = ("温馨提示：你正在与人工智能交流，对方不是真人。\n\n本回复由人工智能生成\n\n你好！\n\n"
            "AI生成 · AI-generated")   # the pack's English label, appended
    assert h.clean(sent) == "你好！"
    assert h.clean("Please note: you are chatting with an AI, not a real person.\n\nHi there.") == "Hi there."


def test_the_models_own_words_are_never_touched() -> None:
    h = hygiene()
    for text in ("你好！", "我是人工智能，不是真人。", "Hi. 本回复由人工智能生成 is what the label says.", ""):
        assert h.clean(text) == text
