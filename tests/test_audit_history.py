"""A user's own conversation (middleware/audit/history.py): every reply of that user with that app, oldest
first, each with the label it was delivered with; the file carries implicit and explicit labels; an erased
user's history is empty."""

from __future__ import annotations

import orjson

from middleware.audit.history import Entry, as_json, as_markdown, file_label, user_history
from middleware.audit.log import AuditLog
from tests.test_audit_support import conversation, draft, keys_fixture, sqlite_log_fixture  # noqa: F401


async def test_the_history_is_the_users_replies_with_that_app_oldest_first(sqlite_log: AuditLog) -> None:
    await sqlite_log.append(conversation("alice", "第一条", said="早"))
    await sqlite_log.append(conversation("alice", "other app", app="other-app"))
    await sqlite_log.append(conversation("bob", "not alice's"))
    await sqlite_log.append(draft(1, user="alice"))                      # no content: left out
    await sqlite_log.append(conversation("alice", "第二条", label=None, kind="crisis"))
    entries = await user_history(sqlite_log, "demo-app", "alice", "【AI生成】")
    assert [e.reply for e in entries] == ["第一条", "第二条"]
    assert entries[0].user == "早" and entries[0].explicit == "AI生成"
    assert entries[0].implicit == {"Label": "1", "ContentProducer": "OP"}
    assert entries[1].explicit == "【AI生成】" and entries[1].implicit is None   # no label decision: the fallback


async def test_an_erased_users_history_is_empty(sqlite_log: AuditLog) -> None:
    await sqlite_log.append(conversation("alice", "gone soon"))
    await sqlite_log.erase_user("alice")
    assert await user_history(sqlite_log, "demo-app", "alice", None) == []


def test_the_file_label_names_the_producer_with_one_fresh_id() -> None:
    a, b = file_label("OP-1"), file_label("OP-1")
    assert a["Label"] == "1" and a["ContentProducer"] == a["ContentPropagator"] == "OP-1"
    assert a["ProduceID"] == a["PropagateID"] and a["ProduceID"] != b["ProduceID"]


ENTRY = Entry("evt-1", "2026-03-02T10:00:00Z", "s1", "你好", "我在呢", "【AI生成】", {"Label": "1"})


def test_json_carries_the_file_label_and_every_entry() -> None:
    doc = orjson.loads(as_json("alice", [ENTRY], {"Label": "1"}, "AI生成"))
    assert doc["object"] == "user_history" and doc["AIGC"] == {"Label": "1"} and doc["label"] == "AI生成"
    assert doc["entries"][0]["label"] == {"explicit": "【AI生成】", "implicit": {"Label": "1"}}


def test_markdown_has_front_matter_and_labels_each_reply_once() -> None:
    md = as_markdown("alice", [ENTRY, Entry("e2", "t2", None, "u", "【AI生成】already labelled", "【AI生成】", None)],
                     {"Label": "1"}, "AI生成")
    lines = md.splitlines()
    assert lines[:3] == ["---", 'AIGC: {"Label":"1"}', "---"]
    assert "> AI生成" in lines
    assert "**AI:** 【AI生成】\n\n我在呢" in md                     # the delegated label is added to the copy
    assert md.count("【AI生成】already labelled") == 1 and "**AI:** 【AI生成】already labelled" in md
    assert "## 2026-03-02T10:00:00Z · s1" in lines and "## t2" in lines
