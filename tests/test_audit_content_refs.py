"""Content references are unique and time-ordered (the content table's key index grows at its end), and
keep 64 random bits."""

from __future__ import annotations

from middleware.audit.keys import AuditKeys
from tests.test_audit_support import Backend, backend_fixture, draft, keys_fixture, open_log  # noqa: F401


async def test_content_refs_grow_in_the_order_events_were_written(backend: Backend, keys: AuditKeys) -> None:
    log = await open_log(backend, keys)
    try:
        events = [await log.append(draft(i, content={"messages": [{"role": "user", "content": f"m{i}"}]}))
                  for i in range(30)]
    finally:
        await log.close()
    refs = [e.content_ref for e in events]
    assert all(r is not None and len(r) == 32 for r in refs)
    assert refs == sorted(refs, key=str) and len(set(refs)) == len(refs)
    assert len({r[16:] for r in refs if r}) == len(refs)   # the random half differs every time
