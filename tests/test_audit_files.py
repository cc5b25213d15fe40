"""The audit log's local files: the anchor file (middleware/audit/anchor.py), the fail-open spool
(middleware/audit/spool.py) and the content encryption (middleware/audit/content.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from middleware.audit.anchor import AnchorLine, AnchorWriter, read_anchor_file
from middleware.audit.content import ContentUnreadable, new_data_key, open_content, seal_content, unwrap
from middleware.audit.keys import AuditKeys, verify_signature
from middleware.audit.spool import Spool, SpoolEntry, decode, encode
from middleware.audit.store import EventRow


def test_anchor_lines_are_signed_and_a_torn_last_line_is_ignored(tmp_path: Path) -> None:
    keys = AuditKeys.generate()
    writer = AnchorWriter(tmp_path / "anchor.jsonl", keys)
    writer.write([writer.line("head", "s1", 7, "ab" * 32)])
    with (tmp_path / "anchor.jsonl").open("ab") as fh:
        fh.write(b'{"type": "head", "stream": "s1"')   # an interrupted write
    lines = list(read_anchor_file(tmp_path / "anchor.jsonl"))
    assert len(lines) == 1 and isinstance(lines[0], AnchorLine)
    assert verify_signature(keys.public, lines[0].sig, lines[0].message())


def _row(seq: int) -> EventRow:
    return EventRow("s1", seq, f"e{seq}", 1_000_000 + seq, "exchange", "ref", "sess", None, b'{"k":1}', "h" * 64)


def test_spooled_events_survive_a_round_trip_and_the_file_is_locked(tmp_path: Path) -> None:
    entry = SpoolEntry(_row(1))
    assert decode(encode(entry)) == entry
    spool = Spool(tmp_path, "s1")
    spool.write([SpoolEntry(_row(1)), SpoolEntry(_row(2))])
    assert [e.event.seq for e in spool.entries()] == [1, 2]
    with pytest.raises(BlockingIOError):
        Spool(tmp_path, "s1")   # one writer per stream
    spool.clear()
    assert list(spool.entries()) == []
    spool.close()


def test_content_opens_only_with_its_keys() -> None:
    master = AuditKeys.generate().master
    row, dek = new_data_key(master, "ref")
    assert unwrap(master, row) == dek
    sealed = seal_content(dek, row.key_id, "ref", "c1", 1, {"messages": ["hi"]})
    assert open_content(dek, sealed) == {"messages": ["hi"]}
    with pytest.raises(ContentUnreadable):
        unwrap(AuditKeys.generate().master, row)
    other_dek = new_data_key(master, "ref")[1]
    with pytest.raises(ContentUnreadable):
        open_content(other_dek, sealed)
