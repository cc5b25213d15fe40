"""A minimal receiver for Candor's alert webhook: checks the signature and the timestamp, drops
duplicates, prints the alert. Standard library only, so you can copy it anywhere.

Run it, then point Candor at it (the same secret on both sides):

    export CANDOR_WEBHOOK_SECRET="$(python -c 'import secrets; print(secrets.token_hex(32))')"
    python examples/alert_receiver.py --port 9000
    # candor.yaml:  alerts: {webhook_url: http://127.0.0.1:9000/alerts}

The scheme: ``X-Candor-Signature: sha256=<hex>`` is HMAC-SHA256, keyed with the secret's UTF-8
bytes, over ``<X-Candor-Timestamp>`` + ``.`` + the raw body. Refuse timestamps more than five
minutes away from your clock (replays), and drop alert ids you have already handled: Candor
delivers at least once and retries until it gets a 2xx answer.

A real receiver would page a human, text the guardian or emergency contact in the alert, or open a
ticket, and answer 2xx only once that is safely queued.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import json
import os
import sys
import time
from collections import OrderedDict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

TOLERANCE = 300  # seconds
MAX_BODY = 1 << 20


def check(secret: bytes, timestamp: str | None, signature: str | None, body: bytes, now: float) -> str | None:
    """None if genuine and fresh, else why not."""
    if not timestamp or not signature:
        return "missing X-Candor-Timestamp or X-Candor-Signature"
    if not timestamp.isdigit():
        return "bad timestamp"
    if abs(now - int(timestamp)) > TOLERANCE:
        return "timestamp too old or in the future (replay?)"
    expected = "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        return "bad signature"
    return None


class Handler(BaseHTTPRequestHandler):
    secret = b""
    seen: ClassVar[OrderedDict[str, None]] = OrderedDict()  # recent alert ids, for dropping duplicates

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._answer(413, "too large")
            return
        body = self.rfile.read(length)  # verify these raw bytes, before parsing anything
        problem = check(self.secret, self.headers.get("X-Candor-Timestamp"),
                        self.headers.get("X-Candor-Signature"), body, time.time())
        if problem:
            print(f"refused: {problem}", file=sys.stderr)
            self._answer(401, problem)
            return
        alert = json.loads(body)
        if alert["id"] in self.seen:
            self._answer(200, "duplicate")  # already handled: a 2xx stops the retries
            return
        self.seen[alert["id"]] = None
        while len(self.seen) > 10_000:
            self.seen.popitem(last=False)
        attempt = self.headers.get("X-Candor-Delivery-Attempt")
        print(f"ALERT {alert['kind']} level={alert.get('level')} user_ref={alert.get('user_ref')} "
              f"session={alert.get('session_id')} guardian={alert.get('guardian_contact')} "
              f"emergency={alert.get('emergency_contact')} audit_event={alert.get('event_id')} (attempt {attempt})")
        print(json.dumps(alert, ensure_ascii=False, indent=2), flush=True)
        self._answer(200, "ok")

    def _answer(self, status: int, text: str) -> None:
        data = json.dumps({"status": text}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # quiet: the alerts are the output
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--secret-env", default="CANDOR_WEBHOOK_SECRET")
    args = parser.parse_args()
    secret = os.environ.get(args.secret_env)
    if not secret:
        sys.exit(f"set ${args.secret_env} to the secret Candor signs with")
    Handler.secret = secret.encode()
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    print(f"listening on http://{args.host}:{args.port}/ (any path)", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
