"""Evidence export (middleware/audit/export.py): the contract's fields, in order, with the content where it
still opens and ``"erased"`` where it was shredded; JSONL or CSV; every page of a large log."""

from __future__ import annotations

import csv
import io

import orjson
import pytest

from middleware.audit.events import FIELDS
from middleware.audit.export import ERASED, event_dict, export, iter_rows
from middleware.audit.log import AuditLog
from middleware.audit.store import EventFilter
from tests.test_audit_support import conversation, draft, keys_fixture, sqlite_log_fixture  # noqa: F401


async def test_jsonl_has_the_contract_fields_and_the_content(sqlite_log: AuditLog) -> None:
    await sqlite_log.append(conversation("alice", "我在呢"))
    await sqlite_log.append(draft(1, user="bob"))
    out = io.StringIO()
    n = await export(sqlite_log.store, EventFilter(kind="exchange"), out, master=sqlite_log.keys.master)
    lines = [orjson.loads(line) for line in out.getvalue().splitlines()]
    assert n == 2 == len(lines)
    assert list(lines[0])[:len(FIELDS)] == list(FIELDS) and lines[0]["hash"]
    assert lines[0]["content"]["reply"] == "我在呢"
    assert lines[1]["content"] is None                  # no content was stored for that one
    out = io.StringIO()
    await export(sqlite_log.store, EventFilter(kind="exchange"), out)   # no master key: no content at all
    assert "content" not in orjson.loads(out.getvalue().splitlines()[0])


async def test_erased_content_is_said_to_be_erased(sqlite_log: AuditLog) -> None:
    await sqlite_log.append(conversation("alice", "secret reply"))
    await sqlite_log.erase_user("alice")
    out = io.StringIO()
    await export(sqlite_log.store, EventFilter(kind="exchange"), out, master=sqlite_log.keys.master)
    row = orjson.loads(out.getvalue().splitlines()[0])
    assert row["content"] == ERASED and "secret" not in out.getvalue()


async def test_csv_has_a_header_and_json_encoded_structures(sqlite_log: AuditLog) -> None:
    await sqlite_log.append(draft(3))
    out = io.StringIO()
    assert await export(sqlite_log.store, EventFilter(kind="exchange"), out, fmt="csv") == 1
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert list(rows[0]) == list(FIELDS)
    assert orjson.loads(rows[0]["decisions"])[0]["rule"] == "disclosure"
    with pytest.raises(ValueError, match="unknown export format"):
        await export(sqlite_log.store, EventFilter(), io.StringIO(), fmt="xml")


async def test_iter_rows_pages_through_every_event_once(sqlite_log: AuditLog) -> None:
    for i in range(7):
        await sqlite_log.append(draft(i))
    pages = [page async for page in iter_rows(sqlite_log.store, EventFilter(kind="exchange"), chunk=3)]
    assert [len(p) for p in pages] == [3, 3, 1]
    ids = [event_dict(r)["event_id"] for p in pages for r in p]
    assert len(set(ids)) == 7
