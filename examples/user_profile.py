"""Register a user profile through Candor's admin API, then read it back.

    export CANDOR_ADMIN_KEY=...        # the proxy's admin key (the auditor key may only read)
    python examples/user_profile.py --base-url http://127.0.0.1:8787 kid-42

The same with the command line: ``candor user set kid-42 --age-band under14 --guardian-consent yes
--guardian-contact guardian@example.com``, and ``candor user show kid-42``.

Then send the user's id with each chat request (the ``user`` field, or the ``X-Candor-User``
header): Candor applies the profile's age band (it wins over ``X-Candor-Age-Band``), guardian
consent, blocked personas and contacts for alerts. Profile changes reach every proxy replica within
a second and are recorded in the audit log as ``profile_change`` events.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import httpx


def main() -> None:
    parser = argparse.ArgumentParser(description="register and read back a Candor user profile")
    parser.add_argument("user_id")
    parser.add_argument("--base-url", default="http://127.0.0.1:8787")
    parser.add_argument("--key-env", default="CANDOR_ADMIN_KEY")
    args = parser.parse_args()
    key = os.environ.get(args.key_env)
    if not key:
        sys.exit(f"set ${args.key_env} to the proxy's admin key")

    profile = {
        "age_band": "under14",              # under14 | minor | adult | elderly | null
        "guardian_consent": True,           # under 14: required before any conversation
        "guardian_contact": "guardian@example.com",
        "emergency_contact": "+86 120",
        "blocked_personas": ["night-owl"],  # personas this user may not talk to (e.g. a guardian's block)
        "unlabeled_allowed": False,         # True only for users allowed replies without the visible AI label
    }
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=args.base_url, headers=headers, timeout=10) as client:
        put = client.put(f"/admin/users/{args.user_id}", json=profile)
        if put.is_error:
            sys.exit(f"PUT failed: {put.status_code} {put.json()['error']['message']}")
        got = client.get(f"/admin/users/{args.user_id}")
        got.raise_for_status()
        print(json.dumps(got.json(), ensure_ascii=False, indent=2))
        # change one field only, leaving the others as they are
        patched = client.patch(f"/admin/users/{args.user_id}", json={"block_personas": ["late-night-lover"]})
        patched.raise_for_status()
        print("blocked personas now:", patched.json()["blocked_personas"])


if __name__ == "__main__":
    main()
