"""The console's overview over a large log: how long ``GET /console/api/overview`` (the figures every chart
draws from) and the overview page take over 100,000 events.

    python -m bench.console_bench [--events 100000] [--by day|hour] [--new 1000]

The events are sealed into a real chain and written straight through the audit store API (no request
pipeline), in the mix a busy companion app makes: exchanges with notices and labels, refusals, crises with
their alert deliveries, consent and persona changes, spread over the last seven days. Timed,
through the app's ASGI interface with a signed-in session: the first view after start (the console's
rollup reads every event once), the next views (nothing new; best of three), a view after ``--new``
events were written meanwhile, and the page itself. Prints a Markdown table; exits 1 when a view after
the first exceeds 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from adapters.root import audit_store as open_store
from middleware.audit.events import GENESIS, EventDraft, canonical_json, event_hash, format_ts_us, new_event_id
from middleware.audit.keys import AuditKeys
from middleware.audit.store import AuditStore, EventRow
from middleware.console.overview import DAY_US

BUDGET_S = 1.0


def draft(i: int) -> EventDraft:
    """Event ``i`` of the mix: 90 % exchanges, then refusals, crises, alert deliveries, likeness changes."""
    kind = i % 100
    base: dict[str, Any] = {"event_id": new_event_id(), "app_id": "bench-app", "session_id": f"s-{i % 20000}",
                            "policy_id": "cn-anthropomorphic-2026", "policy_version": "sha256:0123456789abcdef"}
    if kind < 90:
        notices = [{"kind": "ai_disclosure", "text": "我是人工智能助手", "display": "popup"}] if i % 10 == 0 else []
        if i % 97 == 0:
            notices.append({"kind": "usage_reminder", "text": "您已连续使用 2 小时", "display": "popup"})
        return EventDraft(kind="exchange", user_id=f"user-{i % 5000}", status=200, latency_ms=3.2,
                          upstream_model="openai/gpt-4o-mini", notices=notices, decisions=[
                              {"rule": "age_band", "cites": [], "outcome": "claimed", "detail": {"age_band": "adult"}},
                              {"rule": "disclosure", "cites": ["ANTH-DISCLOSE-1"], "outcome": "applied", "detail": {}},
                              {"rule": "labels", "cites": ["LABEL-TEXT-1"], "outcome": "labelled" if i % 50 else
                               "delegated", "detail": {"position": "prepend"}}], **base)
    if kind < 95:
        return EventDraft(kind="refusal", user_id=f"user-{i % 5000}", status=403, decisions=[
            {"rule": "refusal", "cites": [], "outcome": "refused",
             "detail": {"code": "likeness_consent_required" if i % 2 else "user_blocked", "message": "..."}}], **base)
    if kind < 97:
        return EventDraft(kind="crisis", user_id=f"user-{i % 5000}", status=200, decisions=[
            {"rule": "crisis", "cites": ["ANTH-CRISIS-1"], "outcome": "replaced",
             "detail": {"level": "explicit_intent" if i % 2 else "distress", "category": "self_harm",
                        "alerted": i % 2 == 1, "handover": False}}],
            notices=[{"kind": "crisis_support", "text": "...", "display": "popup"}], **base)
    if kind < 99:
        return EventDraft(kind="alert_delivery", status=200, decisions=[
            {"rule": "alert_delivery", "cites": ["ANTH-CRISIS-2"], "outcome": "delivered",
             "detail": {"alert_id": f"alr_{i}", "event_id": f"crisis-{i}", "attempt": 1, "http_status": 200}}],
            **base)
    return EventDraft(kind="consent_change" if i % 200 < 100 else "persona_change", decisions=[
        {"rule": "consent_change", "cites": ["DVH-CONSENT-1"], "outcome": "add", "detail": {"actor": "bench"}}],
        **base)


async def seed(store: AuditStore, events: int, now_us: int, stream: str = "bench-console",
               span_us: int = 7 * DAY_US) -> None:
    """Seal ``events`` drafts into one valid chain, timestamps spread evenly over ``span_us`` up to now.
    Sealed here rather than by ``Chain.seal`` (same fields, same canonical JSON and hash) because the
    drafts are already normalised and this keeps seeding to a few seconds."""
    keys = AuditKeys.generate()
    step = (span_us - 1_000_000) // events
    start = now_us - span_us + 1_000_000
    prev, batch = GENESIS, []
    for i in range(events):
        d = draft(i)
        ts_us = start + i * step
        user_ref = keys.user_ref(d.user_id)
        body = canonical_json({
            "event_id": d.event_id, "seq": i + 1, "stream": stream, "ts": format_ts_us(ts_us), "kind": d.kind,
            "app_id": d.app_id, "user_ref": user_ref, "session_id": d.session_id, "persona_id": d.persona_id,
            "policy_id": d.policy_id, "policy_version": d.policy_version, "decisions": d.decisions,
            "notices": d.notices, "status": d.status, "latency_ms": d.latency_ms,
            "upstream_model": d.upstream_model, "content_ref": None, "prev_hash": prev})
        prev = event_hash(body)
        batch.append(EventRow(stream, i + 1, d.event_id, ts_us, d.kind, user_ref, d.session_id, None, body, prev))
        if len(batch) == 5000:
            await store.append(batch, [], [])
            batch = []
    if batch:
        await store.append(batch, [], [])


async def main_async(events: int, by: str, new: int) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="candor-console-bench-"))
    try:
        store = open_store(f"sqlite:///{tmp}/audit.db")
        await store.open()
        t0 = time.perf_counter()
        await seed(store, events, time.time_ns() // 1000)
        seeded = time.perf_counter() - t0
        timings = await view_times(tmp, store, by, events, new)
        await store.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    cold, warm, after_new, page = timings
    load = os.getloadavg()[0]
    print(f"{events:,} events seeded through the audit store API in {seeded:.1f} s (SQLite, one stream); "
          f"load average {load:.1f} on {os.cpu_count()} CPUs while measuring.\n")
    print("| `GET /console/api/overview?since=7d&by=" + by + "` | time | budget |\n|---|---:|---:|")
    print(f"| first view after start (the rollup reads all {events:,} events) | {cold * 1000:.0f} ms | |")
    print(f"| next view, nothing new (best of 3) | {warm * 1000:.0f} ms | {BUDGET_S * 1000:.0f} ms |")
    print(f"| next view after {new:,} new events | {after_new * 1000:.0f} ms | {BUDGET_S * 1000:.0f} ms |")
    print(f"| `GET /console` (the page; its charts load from the API) | {page * 1000:.0f} ms | |")
    return 0 if max(warm, after_new) < BUDGET_S else 1


async def view_times(tmp: Path, store: AuditStore, by: str, events: int, new: int
                     ) -> tuple[float, float, float, float]:
    """The overview API and page through the real app (lifespan run, a signed-in auditor session)."""
    from adapters.root import build_app as create_app
    from middleware.config.deployment import load_config

    cfg_path = tmp / "candor.yaml"
    cfg_path.write_text(f"audit: {{url: 'sqlite:///{tmp}/audit.db'}}\npolicies_dir: {tmp}/policies\n")
    (tmp / "policies").mkdir(exist_ok=True)
    os.environ.setdefault("CANDOR_AUDITOR_KEY", "bench-auditor-key")
    app = create_app(load_config(cfg_path, environ={}))
    url = f"/console/api/overview?since=7d&by={by}"

    async def view(client: httpx.AsyncClient) -> tuple[float, dict[str, Any]]:
        t = time.perf_counter()
        resp = await client.get(url)
        elapsed = time.perf_counter() - t
        assert resp.status_code == 200, resp.text
        data: dict[str, Any] = resp.json()
        return elapsed, data

    async with app.app.router.lifespan_context(app.app):
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            resp = await client.post("/console/signin", data={"key": os.environ["CANDOR_AUDITOR_KEY"]})
            assert resp.status_code == 303, resp.text
            await asyncio.sleep(0)
            cold, first = await view(client)
            assert first["totals"]["by_kind"].get("exchange", 0) >= events * 0.9 - 1, first["totals"]
            warm = min([(await view(client))[0] for _ in range(3)])
            await seed(store, new, time.time_ns() // 1000, stream="bench-console-more", span_us=60_000_000)
            after_new, later = await view(client)
            assert later["totals"]["events"] >= first["totals"]["events"] + new, (first["totals"], later["totals"])
            t = time.perf_counter()
            assert (await client.get(f"/console?since=7d&by={by}")).status_code == 200
            page = time.perf_counter() - t
    return cold, warm, after_new, page


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--by", choices=("day", "hour"), default="day")
    ap.add_argument("--new", type=int, default=1000, help="events written between two views")
    args = ap.parse_args(argv)
    return asyncio.run(main_async(args.events, args.by, args.new))


if __name__ == "__main__":
    sys.exit(main())
