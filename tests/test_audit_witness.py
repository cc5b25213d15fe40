"""The witness (``audit.witness_url``): signed checkpoints, stream starts and ends reach an outside HTTP
endpoint durably. A witness that is down gets them later (retries, and from the next process's outbox
pick-up); every statement verifies with the public key alone; a rewrite re-signed with the host's key
disagrees with what the witness holds."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from middleware.audit.keys import AuditKeys, verify_signature
from tests.stubs import ServerThread
from tests.test_audit_support import Backend, backend_fixture, draft, keys_fixture, open_log  # noqa: F401
from tests.test_audit_tamper import resign_rewrite


class WitnessStub:
    def __init__(self) -> None:
        self.statements: list[dict[str, Any]] = []
        self.fail_next = 0
        self.posts = 0

    def app(self) -> Starlette:
        async def take(request: Request) -> JSONResponse:
            self.posts += 1
            if self.fail_next:
                self.fail_next -= 1
                return JSONResponse({"error": "down"}, status_code=503)
            self.statements += (await request.json())["statements"]
            return JSONResponse({"ok": True})

        return Starlette(routes=[Route("/witness", take, methods=["POST"])])


async def wait_for(cond: Any, seconds: float = 30.0) -> bool:
    for _ in range(int(seconds / 0.05)):
        if cond():
            return True
        await asyncio.sleep(0.05)
    return bool(cond())


def check_signed(statements: list[dict[str, Any]], keys: AuditKeys) -> None:
    for s in statements:
        assert s["key_id"] == keys.key_id
        assert verify_signature(keys.public, s["sig"], s["message"].encode()), s


async def test_statements_reach_the_witness_and_verify_with_the_public_key(backend: Backend, keys: AuditKeys) -> None:
    stub = WitnessStub()
    with ServerThread(stub.app()) as server:
        log = await open_log(backend, keys, witness_url=server.url + "/witness", checkpoint_every=5)
        for i in range(12):
            await log.append(draft(i))
        await log.close()
        # delivery is at least once: a witness keys statements by (stream, seq, type)
        unique = {(s["stream"], s["event_seq"], s["type"]): s for s in stub.statements}
        types = [s["type"] for _, s in sorted(unique.items(), key=lambda kv: kv[0][1])]
        assert types[0] == "stream_start" and types[-1] == "stream_end" and types.count("checkpoint") == 2
        assert {s["stream"] for s in stub.statements} == {log.stream}
        check_signed(stub.statements, keys)


async def test_a_witness_that_is_down_gets_everything_later(backend: Backend, keys: AuditKeys) -> None:
    stub = WitnessStub()
    with ServerThread(stub.app()) as server:
        stub.fail_next = 10_000   # down for the whole life of the first writer
        first = await open_log(backend, keys, witness_url=server.url + "/witness", checkpoint_every=5)
        for i in range(7):
            await first.append(draft(i))
        await first.close()
        assert stub.statements == [] and stub.posts >= 1
        assert list((backend.tmp / "witness").glob("*.jsonl")), "statements kept in the outbox"
        stub.fail_next = 2   # back, after two more failures: retried with backoff
        second = await open_log(backend, keys, witness_url=server.url + "/witness", checkpoint_every=5)
        await second.append(draft(0))
        await second.checkpoint()
        delivered = await wait_for(lambda: {first.stream, second.stream} <= {s["stream"] for s in stub.statements})
        await second.close()
        assert delivered, stub.statements
        mine = {(s["event_seq"], s["type"]) for s in stub.statements if s["stream"] == first.stream}
        assert [t for _, t in sorted(mine)] == ["stream_start", "checkpoint", "stream_end"]
        check_signed(stub.statements, keys)


async def test_a_rewrite_re_signed_with_the_host_key_disagrees_with_the_witness(backend: Backend,
                                                                                 keys: AuditKeys) -> None:
    stub = WitnessStub()
    with ServerThread(stub.app()) as server:
        log = await open_log(backend, keys, witness_url=server.url + "/witness", checkpoint_every=3)
        events = [await log.append(draft(i)) for i in range(7)]
        await log.close()
    target = events[1]
    await resign_rewrite(backend, keys, target.stream, target.seq,
                         lambda ev: ev.update(status=451))
    rows = dict(await backend.sql("SELECT seq, hash FROM audit_events WHERE stream = ?", target.stream))
    held = [s for s in stub.statements if s["type"] in ("checkpoint", "stream_end")]
    differing = [s for s in held if rows.get(s["seq"]) != s["hash"]]
    assert differing and min(s["seq"] for s in differing) >= target.seq


