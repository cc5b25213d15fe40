"""How a request ends (middleware/pipeline/lifecycle.py): ``finish`` runs the cleanups and counts and logs the
request once; ``refuse`` answers in the OpenAI shape with its own audit record, counts keyless requests
instead of recording them, and turns a failing record into the error the client sees."""

from __future__ import annotations

from typing import Any

import orjson
import structlog
from structlog.testing import capture_logs

from middleware import metrics
from middleware.audit.unauth import UnauthenticatedTally
from middleware.http.errors import CandorError
from middleware.pipeline.lifecycle import client_host, finish, refuse
from middleware.pipeline.stages import Pipeline
from middleware.testing import ROUTE, RecordingRecorder, ScriptedUpstream, compile_rules, make_exchange, policy


class Policies:
    def get(self, policy_id: str) -> Any:
        return policy(policy_id)   # raises KeyError for an unknown id, as the registry does


class FailingRecorder(RecordingRecorder):
    def __init__(self, exc: BaseException) -> None:
        super().__init__()
        self.exc = exc

    async def record(self, ex: Any, error: CandorError | None = None) -> None:
        raise self.exc


def _pipeline(recorder: RecordingRecorder | None = None) -> tuple[Pipeline, RecordingRecorder]:
    rec = recorder or RecordingRecorder()
    rules = compile_rules()
    return Pipeline(routes={ROUTE.name: ROUTE}, upstreams={"scripted": ScriptedUpstream()},
                    rules_for=lambda p: rules, recorder=rec, new_event_id=lambda: "evt-refused"), rec


def _samples(status: str) -> float:
    return sum(s.value for m in metrics.REQUESTS.collect() for s in m.samples
               if s.name.endswith("_total") and s.labels.get("model") == ROUTE.name
               and s.labels.get("status") == status)


def test_finish_runs_cleanups_once_counts_and_logs_the_request() -> None:
    ex = make_exchange()
    ran: list[str] = []
    ex.cleanups += [lambda: ran.append("first"), lambda: ran.append("second")]
    ex.status = 299
    before = _samples("299")
    with capture_logs() as logs:
        finish(ex, endpoint="chat")
        finish(ex, endpoint="chat")   # a second finish finds no cleanups left
    assert ran == ["second", "first"]
    assert _samples("299") == before + 2
    line = logs[0]
    assert line["event"] == "request" and line["status"] == 299 and line["endpoint"] == "chat"
    assert line["event_id"] == ex.event_id and line["policy"] == ex.policy.id and line["latency_ms"] >= 0


async def test_a_refusal_without_an_exchange_is_recorded_on_one_made_for_it() -> None:
    pipe, rec = _pipeline()
    err = CandorError(400, "user_required", "pass a user", param="user")
    body = {"model": "m", "stream": True}
    resp = await refuse(pipe, Policies(), "cn-anthropomorphic-2026", err, None, "app-1", "no-such-policy", body)
    assert resp.status_code == 400
    assert orjson.loads(bytes(resp.body))["error"]["code"] == "user_required"
    assert resp.headers["x-candor-event-id"] == "evt-refused"
    assert resp.headers["x-candor-policy"] == "cn-anthropomorphic-2026"   # the default, as the id is unknown
    ex, recorded = rec.records[0]
    assert recorded is err and ex.kind == "refusal" and ex.status == 400 and ex.ctx.app_id == "app-1"
    assert ex.stream is True


async def test_an_error_on_an_existing_exchange_is_an_error_event() -> None:
    pipe, rec = _pipeline()
    ex = make_exchange()
    closed: list[bool] = []
    ex.cleanups.append(lambda: closed.append(True))
    resp = await refuse(pipe, Policies(), "cn-anthropomorphic-2026", CandorError(502, "upstream_error", "down"),
                        ex, "app", ex.policy.id, ex.body)
    assert resp.status_code == 502 and rec.records[0][0] is ex and ex.kind == "error"
    assert closed == [True]


async def test_keyless_requests_are_tallied_not_recorded() -> None:
    pipe, rec = _pipeline()

    def no_audit() -> Any:
        raise AssertionError("a keyless request must not reach the audit log")

    tally = UnauthenticatedTally(no_audit)
    err = CandorError(401, "invalid_api_key", "no key")
    resp = await refuse(pipe, Policies(), "cn-anthropomorphic-2026", err, None, "-", "x", {},
                        unauthenticated=tally, source="10.0.0.9")
    assert resp.status_code == 401 and "x-candor-event-id" not in resp.headers
    assert tally.pending == 1 and rec.records == []


async def test_a_record_that_fails_closed_or_crashes_becomes_the_answer() -> None:
    ex = make_exchange()
    pipe, _ = _pipeline(FailingRecorder(CandorError(503, "audit_unavailable", "the audit log is down")))
    resp = await refuse(pipe, Policies(), "cn-anthropomorphic-2026", CandorError(400, "bad", "x"), ex, "a",
                        ex.policy.id, ex.body)
    assert resp.status_code == 503 and ex.status == 503
    ex = make_exchange()
    pipe, _ = _pipeline(FailingRecorder(RuntimeError("bug")))
    with structlog.testing.capture_logs() as logs:
        resp = await refuse(pipe, Policies(), "cn-anthropomorphic-2026", CandorError(400, "bad", "x"), ex, "a",
                            ex.policy.id, ex.body)
    assert resp.status_code == 500 and orjson.loads(bytes(resp.body))["error"]["code"] == "internal_error"
    assert b"bug" not in bytes(resp.body)
    assert any(line.get("exc_info") for line in logs)


def test_client_host_names_the_peer_or_a_dash() -> None:
    class Req:
        def __init__(self, client: Any) -> None:
            self.client = client

    class Peer:
        host = "10.1.2.3"

    assert client_host(Req(Peer())) == "10.1.2.3"  # type: ignore[arg-type]
    assert client_host(Req(None)) == "-"  # type: ignore[arg-type]
