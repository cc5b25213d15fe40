"""The witness's own machinery (middleware/audit/witness.py) with httpx's MockTransport: statements made from
checkpoint rows verify with the public key alone; the outbox file is durable and delivered at least once,
whole lines only, from the recorded offset; a refusal keeps everything; a gone writer's file is delivered
and removed. tests/test_audit_witness.py covers the witness end to end with a real log."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Any

import httpx
import orjson

from middleware.audit.chain import signed_message
from middleware.audit.keys import AuditKeys, verify_signature
from middleware.audit.store import EventRow
from middleware.audit.witness import Witness, statements


class Receiver:
    def __init__(self) -> None:
        self.posts: list[list[dict[str, Any]]] = []
        self.headers: list[httpx.Headers] = []
        self.status = 200

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.headers.append(request.headers)
        if self.status != 200:
            return httpx.Response(self.status)
        self.posts.append(orjson.loads(request.content)["statements"])
        return httpx.Response(200, json={"ok": True})


def _witness(tmp: Path, receiver: Receiver, stream: str = "w1", token: str | None = None) -> Witness:
    return Witness("http://witness.test/w", tmp / "witness", stream, token=token,
                   transport=httpx.MockTransport(receiver))


def _checkpoint_row(keys: AuditKeys, seq: int) -> EventRow:
    message = signed_message("checkpoint", stream="w1", seq=seq, hash=f"h{seq}")
    detail = {"stream": "w1", "seq": seq, "hash": f"h{seq}", "key_id": keys.key_id, "sig": keys.sign(message)}
    body = orjson.dumps({"decisions": [{"rule": "checkpoint", "detail": detail}]})
    return EventRow("w1", seq + 1, f"e{seq}", 0, "checkpoint", None, None, None, body, "x")


def test_statements_are_made_from_checkpoints_only_and_verify_with_the_public_key() -> None:
    keys = AuditKeys.generate()
    other = EventRow("w1", 1, "e", 0, "exchange", None, None, None, b"{}", "x")
    out = statements([other, _checkpoint_row(keys, 10)])
    assert len(out) == 1
    s = out[0]
    assert (s["type"], s["stream"], s["seq"], s["hash"], s["event_seq"]) == ("checkpoint", "w1", 10, "h10", 11)
    assert verify_signature(keys.public, s["sig"], s["message"].encode())
    assert not verify_signature(keys.public, s["sig"], s["message"].encode().replace(b"h10", b"h11"))


async def test_added_statements_are_delivered_once_from_the_recorded_offset(tmp_path: Path) -> None:
    rx = Receiver()
    w = _witness(tmp_path, rx, token="t0k")
    try:
        w.add([{"type": "checkpoint", "seq": 1}, {"type": "checkpoint", "seq": 2}])
        assert (tmp_path / "witness" / "w1.jsonl").read_bytes().count(b"\n") == 2   # durable before delivery
        assert await w.deliver_all()
        assert [s["seq"] for s in rx.posts[0]] == [1, 2] and w.delivered == 2
        assert rx.headers[0]["authorization"] == "Bearer t0k"
        assert await w.deliver_all() and len(rx.posts) == 1         # nothing new: nothing sent
        w.add([{"type": "checkpoint", "seq": 3}])
        os.write(w._own.fd, b'{"torn": ')                            # an interrupted write is never sent
        assert await w.deliver_all()
        assert [s["seq"] for s in rx.posts[1]] == [3]
    finally:
        await w.close(drain_timeout=0.1)


async def test_a_refusing_witness_keeps_everything_for_later(tmp_path: Path) -> None:
    rx = Receiver()
    rx.status = 503
    w = _witness(tmp_path, rx)
    try:
        w.add([{"type": "checkpoint", "seq": 1}])
        assert not await w.deliver_all()
        assert w._own.offset() == 0 and rx.posts == []
        rx.status = 200
        assert await w.deliver_all() and [s["seq"] for s in rx.posts[0]] == [1]
    finally:
        await w.close(drain_timeout=0.1)


async def test_a_gone_writers_outbox_is_delivered_and_removed(tmp_path: Path) -> None:
    rx = Receiver()
    directory = tmp_path / "witness"
    directory.mkdir()
    (directory / "dead.jsonl").write_bytes(b'{"type": "checkpoint", "seq": 7}\n')
    live = directory / "alive.jsonl"
    live.write_bytes(b'{"type": "checkpoint", "seq": 8}\n')
    fd = os.open(live, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)       # a writer that is still running
    w = _witness(tmp_path, rx)
    try:
        assert await w.deliver_all()
        assert [s["seq"] for post in rx.posts for s in post] == [7]
        assert not (directory / "dead.jsonl").exists() and live.exists()
    finally:
        os.close(fd)
        await w.close(drain_timeout=0.1)


async def test_the_background_task_delivers_on_wake_and_drains_on_close(tmp_path: Path) -> None:
    rx = Receiver()
    w = _witness(tmp_path, rx)
    w.start()
    w.add([{"type": "checkpoint", "seq": 1}])
    w.wake()
    w.add([{"type": "checkpoint", "seq": 2}])
    await w.close(drain_timeout=2.0)
    assert sorted({s["seq"] for post in rx.posts for s in post}) == [1, 2]
