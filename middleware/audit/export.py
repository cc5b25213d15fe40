"""Evidence export: events as the contract lists them, plus their content where it still exists.

``content`` is the decrypted message content, the string ``"erased"`` when the event had content
that has since been erased (crypto-shredded) or purged, and ``null`` when none was stored.
"""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from typing import IO, Any

import orjson

from middleware.audit.content import ContentUnreadable, open_content, unwrap
from middleware.audit.events import FIELDS
from middleware.audit.store import AuditStore, Cursor, EventFilter, EventRow

ERASED = "erased"


async def iter_rows(store: AuditStore, flt: EventFilter, chunk: int = 1000) -> AsyncIterator[list[EventRow]]:
    after: Cursor | None = None
    while True:
        rows = await store.query(flt, after, chunk)
        if not rows:
            return
        yield rows
        last = rows[-1]
        after = (last.ts_us, last.stream, last.seq)


def event_dict(row: EventRow) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(row.body)
    data["hash"] = row.hash
    return {k: data.get(k) for k in FIELDS}


async def with_content(store: AuditStore, master: bytes | None, rows: list[EventRow]) -> list[dict[str, Any]]:
    """Event dicts with ``content`` filled in (``master`` None: content left out entirely)."""
    events = [event_dict(r) for r in rows]
    if master is None:
        return events
    refs = [r.content_ref for r in rows if r.content_ref]
    contents = await store.get_content(refs) if refs else {}
    keys = await store.get_keys(sorted({c.key_id for c in contents.values()})) if contents else {}
    deks: dict[str, bytes] = {}
    for ev in events:
        ref = ev.get("content_ref")
        if not ref:
            ev["content"] = None
            continue
        row = contents.get(ref)
        key = keys.get(row.key_id) if row else None
        if row is None or key is None:
            ev["content"] = ERASED
            continue
        try:
            if key.key_id not in deks:
                deks[key.key_id] = unwrap(master, key)
            ev["content"] = open_content(deks[key.key_id], row)
        except ContentUnreadable:
            ev["content"] = ERASED
    return events


async def export(store: AuditStore, flt: EventFilter, out: IO[str], fmt: str = "jsonl",
                 master: bytes | None = None) -> int:
    """Write matching events to ``out``; returns how many."""
    count = 0
    writer = None
    if fmt == "csv":
        cols = [*FIELDS, "content"] if master is not None else list(FIELDS)
        writer = csv.DictWriter(out, fieldnames=cols, extrasaction="ignore")
        writer.writeheader()
    elif fmt != "jsonl":
        raise ValueError(f"unknown export format {fmt!r}: use jsonl or csv")
    async for rows in iter_rows(store, flt):
        for ev in await with_content(store, master, rows):
            count += 1
            if writer is None:
                out.write(orjson.dumps(ev).decode() + "\n")
            else:
                writer.writerow({k: orjson.dumps(v).decode() if isinstance(v, dict | list) else v
                                 for k, v in ev.items()})
    return count
