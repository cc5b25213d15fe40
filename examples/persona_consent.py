"""A digital human that uses a real person's likeness: register it, record consent, chat, revoke.

Run `candor serve` with an admin key in its environment, then:

    CANDOR_KEY=<app key> CANDOR_ADMIN_KEY=<admin key> python examples/persona_consent.py [EVIDENCE_FILE]

What it shows:
1. a persona with a likeness (face and voice of a real person) is registered through the admin API;
2. chatting as it is refused (403 likeness_consent_required) until consent is recorded;
3. consent is recorded with the SHA-256 of the signed consent document (the document stays with you);
4. the chat works, with the persona named in the X-Candor-Persona header;
5. consent is revoked, and the very next request is refused again: this is what your app sees.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sys
from pathlib import Path

import httpx
from openai import OpenAI, PermissionDeniedError

BASE = os.environ.get("CANDOR_URL", "http://127.0.0.1:8787/v1")
ADMIN_BASE = BASE.removesuffix("/").removesuffix("/v1")
MODEL = os.environ.get("CANDOR_MODEL", "candor-demo")

admin = httpx.Client(base_url=ADMIN_BASE, timeout=10,
                     headers={"Authorization": f"Bearer {os.environ['CANDOR_ADMIN_KEY']}"})
client = OpenAI(base_url=BASE, api_key=os.environ["CANDOR_KEY"], max_retries=0)

suffix = secrets.token_hex(3)  # fresh ids each run: consents are never edited, so we never reuse them
persona_id, subject_id = f"lin-{suffix}", f"subject-lin-{suffix}"


def call(method: str, path: str, **kwargs: object) -> dict[str, object]:
    resp = admin.request(method, path, **kwargs)  # type: ignore[arg-type]
    if resp.is_error:
        sys.exit(f"{method} {path} failed ({resp.status_code}): {resp.json()['error']['message']}")
    return resp.json()  # type: ignore[no-any-return]


def chat(text: str) -> None:
    try:
        reply = client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": text}],
            extra_headers={"X-Candor-Persona": persona_id, "X-Candor-User": "example-user"})
    except PermissionDeniedError as exc:  # 403: the body is the OpenAI error shape
        error = exc.body if isinstance(exc.body, dict) else {}
        print(f"  refused (403 {error.get('code')}): {error.get('message')}")
        return
    print(f"  {persona_id}: {reply.choices[0].message.content}")
    notices = ((reply.model_extra or {}).get("compliance") or {}).get("notices", [])
    print(f"  notices: {json.dumps([n.get('kind') for n in notices])}")


print(f"1. register persona {persona_id} depicting {subject_id} (face, voice)")
call("POST", "/admin/personas", json={
    "id": persona_id, "display_name": "Lin", "relationship": "companion",
    "likeness": {"subject_id": subject_id, "kinds": ["face", "voice"], "deceased": False}})

print("2. chat before any consent")
chat("你好，林！")

evidence = Path(sys.argv[1]).read_bytes() if len(sys.argv) > 1 else b"signed consent of Lin (example document)"
print("3. record Lin's own consent (she is an adult) with the evidence's SHA-256")
consent = call("POST", "/admin/consents", json={
    "subject_id": subject_id, "granted_by": "subject", "scopes": ["face", "voice"],
    "purpose": "Lin's face and voice for the companion digital human in the example app",
    "valid_until": "2030-01-01T00:00:00Z", "evidence_sha256": hashlib.sha256(evidence).hexdigest()})
print(f"  consent {consent['id']} is {consent['status']}")

print("4. chat with consent in place")
chat("你好，林！今天过得怎么样？")

print("5. Lin withdraws consent: revoke it")
revoked = call("POST", f"/admin/consents/{consent['id']}/revoke", json={"reason": "withdrawn by the subject"})
print(f"  consent {revoked['id']} is {revoked['status']}")
chat("林，你还在吗？")

print("6. the ledger keeps the history (readable with the auditor key too)")
history = call("GET", "/admin/consents", params={"subject_id": subject_id, "history": "1"})
for item in history["data"]:  # type: ignore[attr-defined]
    print(f"  {item['id']}: {item['status']}, granted by {item['granted_by']}, revoked {item['revoked_at']}")
