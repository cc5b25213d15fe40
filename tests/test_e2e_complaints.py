"""End-to-end (running proxy over HTTP, virtual clock; the openai SDK's own HTTP client for the app-key
route): complaints and appeals (issue 13 item 10, ANTH-COMPLAINT-1, ANTH-MINOR-5). An app files a
complaint with its key and gets an id and a due date from the policy; auditors list them, admins resolve
them; every intake and resolution is a ``complaint`` audit event; ``candor audit report`` counts open and
overdue ones; bad requests get clear errors in the OpenAI shape."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import httpx
import openai
import pytest

from middleware.cli.main import main
from tests import web
from tests.clockproxy import sdk
from tests.stubs import Script, StubProvider
from tests.vulnerable_support import ADMIN, AUDITOR, KEY, admin, ask, client, events, proxy

__all__ = ["proxy"]
DAY = 86400


def file(server: Any, body: Any, key: str = KEY) -> httpx.Response:
    return web.post(f"{server.url}/v1/complaints", json=body, headers={"authorization": f"Bearer {key}"},
                    timeout=10)


def test_a_complaint_is_filed_listed_resolved_and_recorded(proxy: Any, stub: StubProvider) -> None:
    server, clock = proxy
    stub.push(Script(text="好的。"))
    _, comp, _ = ask(client(server), "你好", "petra", False)
    resp = file(server, {"user": "petra", "category": "minor_status", "text": "我已经成年了，请解除未成年人模式",
                         "session": comp["session_id"]})
    assert resp.status_code == 201, resp.text
    filed = resp.json()
    created = datetime.fromisoformat(filed["created_at"]).timestamp()
    due = datetime.fromisoformat(filed["due_by"]).timestamp()
    assert filed["id"].startswith("cmp_") and round(due - created) == 15 * DAY   # the CN pack's respond_within
    assert round(created) == round(clock.now) and filed["status"] == "open"
    listed = admin(server, "GET", "/admin/complaints?status=open", key=AUDITOR).json()["data"]
    assert [c["id"] for c in listed] == [filed["id"]] and listed[0]["text"].startswith("我已经成年了")
    assert admin(server, "GET", "/admin/complaints?status=overdue", key=AUDITOR).json()["data"] == []
    clock.advance(16 * DAY)
    overdue = admin(server, "GET", "/admin/complaints?status=overdue", key=AUDITOR).json()["data"]
    assert [c["id"] for c in overdue] == [filed["id"]] and overdue[0]["overdue"] is True
    # the auditor may read, not resolve
    denied = admin(server, "POST", f"/admin/complaints/{filed['id']}/resolve", {"resolution": "x"}, key=AUDITOR)
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "permission_denied"
    done = admin(server, "POST", f"/admin/complaints/{filed['id']}/resolve",
                 {"resolution": "profile checked, minors mode lifted (minors_mode_override)"})
    assert done.status_code == 200 and done.json()["status"] == "resolved" and done.json()["overdue"] is True
    again = admin(server, "POST", f"/admin/complaints/{filed['id']}/resolve", {"resolution": "again"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "complaint_already_resolved"
    missing = admin(server, "POST", "/admin/complaints/cmp_nope/resolve", {"resolution": "x"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "complaint_not_found"
    recorded = events(server, "complaint", "petra")
    outcomes = [(e["decisions"][0]["outcome"], e["decisions"][0]["detail"]["complaint_id"]) for e in recorded]
    assert outcomes == [("received", filed["id"]), ("resolved", filed["id"])]
    assert recorded[1]["decisions"][0]["detail"]["late"] is True
    assert "ANTH-COMPLAINT-1" in recorded[0]["decisions"][0]["cites"]
    assert "成年" not in json.dumps(recorded, ensure_ascii=False)              # the text stays out of the log


def test_bad_complaints_get_clear_errors_and_the_proxy_stays_up(proxy: Any) -> None:
    server, _ = proxy
    cases = [({"user": "u", "category": "weather", "text": "x"}, "category"),
             ({"user": "u", "category": "content"}, "text"),
             ({"user": "", "category": "content", "text": "x"}, "user"),
             ({"user": "u", "category": "content", "text": "x", "extra": 1}, "extra"),
             ({"user": "u", "category": "content", "text": "x" * 10_001}, "text")]
    for body, param in cases:
        resp = file(server, body)
        assert resp.status_code == 400, body
        err = resp.json()["error"]
        assert err["code"] == "invalid_request" and err["param"] == param and err["message"]
    raw = web.post(f"{server.url}/v1/complaints", content=b"{not json", headers={"authorization": f"Bearer {KEY}"})
    assert raw.status_code == 400 and raw.json()["error"]["code"] == "invalid_request"
    assert file(server, {"user": "u", "category": "content", "text": "x"}, key="sk-nope").status_code == 401
    assert file(server, {"user": "u", "category": "content", "text": "x"}, key=ADMIN).status_code == 401
    bad_list = admin(server, "GET", "/admin/complaints?status=pending", key=AUDITOR)
    assert bad_list.status_code == 400 and bad_list.json()["error"]["param"] == "status"
    assert admin(server, "GET", "/admin/complaints", key=KEY).status_code == 401     # an app key is not an admin key
    assert sdk(server, KEY).models.list().data


def test_the_openai_sdk_can_file_a_complaint(proxy: Any) -> None:
    server, _ = proxy
    created = sdk(server, KEY).post("/complaints", cast_to=httpx.Response,
                                    body={"user": "sdk-user", "category": "labels", "text": "no label shown"})
    assert created.status_code == 201 and created.json()["id"].startswith("cmp_")
    try:
        sdk(server, KEY).post("/complaints", cast_to=httpx.Response, body={"user": "sdk-user", "category": "nope",
                                                                           "text": "x"})
    except openai.BadRequestError as exc:
        assert exc.code == "invalid_request" and exc.param == "category"
    else:
        raise AssertionError("a bad category must be refused")


def test_the_audit_report_counts_open_and_overdue_complaints(proxy: Any, tmp_path: Any,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    server, _ = proxy
    monkeypatch.chdir(tmp_path)

    def candor(*args: str) -> tuple[int, str]:   # the operator's command, in process
        capsys.readouterr()
        with pytest.raises(SystemExit) as done:
            main(list(args))
        return int(done.value.code or 0), capsys.readouterr().out

    ids = [file(server, {"user": f"r{i}", "category": "content", "text": "bad reply"}).json()["id"] for i in range(3)]
    assert admin(server, "POST", f"/admin/complaints/{ids[0]}/resolve", {"resolution": "fixed"}).status_code == 200

    def report(until: str) -> dict[str, Any]:
        out = tmp_path / f"report-{until}.json"
        assert candor("audit", "report", "--config", str(tmp_path / "candor.yaml"), "--format", "json",
                      "--until", until, "--out", str(out))[0] == 0
        data: dict[str, Any] = json.loads(out.read_text())["complaints"]
        return data

    now = report("2099-01-01")          # far past every due date: the two still open are overdue by then
    assert (now["received"], now["resolved"], now["open"], now["overdue"]) == (3, 1, 2, 2)
    assert now["by_category"] == {"content": 3}
    code, text = candor("audit", "report", "--config", str(tmp_path / "candor.yaml"))
    assert code == 0 and "## Complaints (ANTH-COMPLAINT-1)" in text and "open: 2; overdue: 0" in text


def test_hostile_complaints_are_refused_and_the_proxy_stays_up(proxy: Any) -> None:
    """Deep nesting, a lone surrogate and a flood from one app: precise errors, nothing lost, still up."""
    server, _ = proxy
    headers = {"authorization": f"Bearer {KEY}", "content-type": "application/json"}
    deep = b'{"user": "u", "category": "content", "text": ' + b"[" * 2000 + b"]" * 2000 + b"}"
    lone = b'{"user": "u", "category": "content", "text": "\\ud800"}'
    for raw in (deep, lone):
        r = web.post(f"{server.url}/v1/complaints", content=raw, headers=headers, timeout=10)
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_request", r.text[:200]
    ids = {file(server, {"user": f"flood-{i}", "category": "other", "text": "\u2063\u202e投诉"}).json()["id"]
           for i in range(50)}
    assert len(ids) == 50   # every complaint of the flood was taken, each with its own id
    listed = admin(server, "GET", "/admin/complaints?status=open", key=AUDITOR).json()["data"]
    assert ids <= {c["id"] for c in listed}
