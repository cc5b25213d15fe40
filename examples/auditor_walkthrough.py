"""An auditor's walk-through: verify the audit log, export one session as evidence, read the report.

    python examples/auditor_walkthrough.py --config candor.yaml     # a real deployment's log
    python examples/auditor_walkthrough.py --demo                   # a throw-away sample log

Each step is what you would type at a shell; the script runs the same commands through the
``candor`` command-line entry points and shows their output:

    candor audit verify                       # exit 0 intact, 1 tampered (first bad event named), 2 unusable
    candor audit export --session S --format jsonl --out session.jsonl
    candor audit report --since 30d --out report.md
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.root import audit_log
from middleware.audit import EventDraft, new_event_id
from middleware.audit.cli import add_audit_commands
from middleware.audit.keys import public_key_path
from middleware.config.deployment import load_config


def candor(*argv: str) -> int:
    """Run one ``candor audit ...`` command in-process and return its exit code."""
    parser = argparse.ArgumentParser(prog="candor")
    parser.add_argument("--config")
    add_audit_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    print(f"\n$ candor {' '.join(argv)}")
    rc: int = args.func(args)
    print(f"(exit {rc})")
    return rc


async def make_demo_log(config: Path) -> str:
    """A few events as the proxy writes them: a session with a disclosure, a crisis, a refusal."""
    cfg = load_config(config)
    log = await audit_log(cfg)
    session = "demo-session-1"
    base = {"app_id": "demo-app", "user_id": "user-42", "session_id": session,
            "policy_id": "cn-anthropomorphic-2026", "policy_version": "sha256:demo"}
    await log.append(EventDraft(new_event_id(), "exchange", **base, status=200, latency_ms=420.0,
                                upstream_model="candor-demo",
                                decisions=[{"rule": "disclosure", "cites": ["ANTH-DISC-1"], "outcome": "applied",
                                            "detail": {"age_band": "adult"}}],
                                notices=[{"kind": "ai_disclosure", "display": "popup"}],
                                content={"messages": [{"role": "user", "content": "Are you a real person?"}],
                                         "reply": "I am an AI companion, not a person."}))
    await log.append(EventDraft(new_event_id(), "crisis", **base, status=200,
                                decisions=[{"rule": "crisis", "cites": ["ANTH-CRISIS-1"], "outcome": "replaced",
                                            "detail": {"level": "distress", "alerted": True, "handover": False,
                                                       "age_band": "adult"}}],
                                notices=[{"kind": "crisis_support", "display": "inline"}],
                                content={"messages": [{"role": "user", "content": "(message withheld)"}]}))
    await log.append(EventDraft(new_event_id(), "refusal", app_id="demo-app", user_id="user-7",
                                session_id="demo-session-2", status=403,
                                decisions=[{"rule": "minors", "cites": ["ANTH-MINOR-1"], "outcome": "blocked",
                                            "detail": {"code": "persona_not_allowed_for_minor", "age_band": "minor"}}]))
    await log.close()
    return session


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", help="the deployment's candor.yaml")
    ap.add_argument("--demo", action="store_true", help="build a sample log in a temporary directory first")
    ap.add_argument("--session", help="session to export (default: the demo session)")
    opts = ap.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="candor-audit-"))
    if opts.demo:
        config = workdir / "candor.yaml"
        config.write_text(f"audit: {{url: 'sqlite:///{workdir}/audit.db'}}\n")
        session = asyncio.run(make_demo_log(config))
    elif opts.config:
        config, session = Path(opts.config), opts.session
    else:
        ap.error("pass --config FILE (a deployment) or --demo")
    common = ["--config", str(config)]

    print("1. Verify the whole log: hash chains, signed checkpoints, stream heads (and the anchor file if set).")
    if candor(*common, "audit", "verify") != 0:
        print("The log is not intact: keep the output above as your finding.")
        return 1
    candor(*common, "audit", "verify", "--json")

    if session:
        print(f"\n2. Export session {session} as evidence (content appears decrypted, or as \"erased\").")
        out = workdir / "session.jsonl"
        candor(*common, "audit", "export", "--session", session, "--out", str(out))
        for line in out.read_text().splitlines():
            ev = json.loads(line)
            print(f"   {ev['ts']}  {ev['kind']:<9} status {ev['status']}  "
                  f"decisions {[d['rule'] + ':' + d['outcome'] for d in ev['decisions']]}  content={ev['content']}")
        print("   Anyone can recompute each hash: sha256 of the event without 'hash', as JSON with sorted keys,")
        print("   no spaces, UTF-8 (Python: json.dumps(ev, sort_keys=True, separators=(',', ':'),")
        print("   ensure_ascii=False)).")

    print("\n3. The compliance report (ANTH-ASSESS-2 figures, ANTH-ASSESS-1 thresholds).")
    report = workdir / "report.md"
    candor(*common, "audit", "report", "--out", str(report))
    print(report.read_text())
    print(f"Files are in {workdir}. Signatures are checked against {public_key_path(load_config(config))}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
