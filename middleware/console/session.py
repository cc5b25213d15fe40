"""Console sessions: a signed cookie, no server-side table, so every worker of ``candor serve`` accepts it.

The cookie holds ``sid.role.expiry`` and an HMAC-SHA256 over them, keyed by a key derived from the
role's own key (``$CANDOR_ADMIN_KEY`` / ``$CANDOR_AUDITOR_KEY``): rotating that key signs every session
of the role out. The CSRF token of a session is another HMAC of its ``sid`` under the same key
(synchronizer token): forms carry it, and every write checks it in constant time.

Sign-out deletes the cookie and remembers the ``sid`` as ended in this process until it expires
(with several workers, another worker would still accept a copied cookie until its expiry, which
the cookie's short life bounds; documented in the README).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from typing import Literal

Role = Literal["admin", "auditor"]
COOKIE = "candor_console"
LIFETIME = 8 * 3600.0   # a working day; then sign in again
_ROLES: tuple[Role, ...] = ("admin", "auditor")


@dataclass(frozen=True, slots=True)
class Session:
    sid: str
    role: Role
    expires: float
    csrf: str


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"candor-console-session-v1", hashlib.sha256).digest()


def _mac(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


class Sessions:
    def __init__(self, admin_env: str, auditor_env: str, lifetime: float = LIFETIME) -> None:
        self.envs = {"admin": admin_env, "auditor": auditor_env}
        self.lifetime = lifetime
        self._ended: dict[str, float] = {}

    def _secret(self, role: Role) -> str:
        return os.environ.get(self.envs[role], "")

    def enabled(self) -> bool:
        return any(self._secret(r) for r in _ROLES)

    def role_for_key(self, given: str) -> Role | None:
        """Which role ``given`` is the key of; compares against both, in constant time."""
        raw = given.strip().encode()
        found: Role | None = None
        for role in _ROLES:
            secret = self._secret(role)
            if bool(secret) & hmac.compare_digest(raw, secret.encode()) and found is None:
                found = role
        return found

    def issue(self, role: Role, now: float | None = None) -> tuple[str, Session]:
        """A new session for ``role``: (cookie value, session)."""
        now = time.time() if now is None else now
        sid = secrets.token_urlsafe(18)
        expires = int(now + self.lifetime)
        key = _key(self._secret(role))
        payload = f"{sid}.{role}.{expires}"
        return f"{payload}.{_mac(key, payload)}", Session(sid, role, float(expires), _mac(key, "csrf:" + sid))

    def read(self, cookie: str | None, now: float | None = None) -> Session | None:
        """The session a cookie proves, or None (missing, forged, expired, signed out, key rotated)."""
        if not cookie or len(cookie) > 256:
            return None
        parts = cookie.split(".")
        if len(parts) != 4 or parts[1] not in _ROLES or not parts[2].isdigit():
            return None
        sid, role_text, exp_text, mac = parts
        role: Role = "admin" if role_text == "admin" else "auditor"
        secret = self._secret(role)
        if not secret:
            return None
        key = _key(secret)
        if not hmac.compare_digest(mac, _mac(key, f"{sid}.{role}.{exp_text}")):
            return None
        now = time.time() if now is None else now
        if int(exp_text) <= now or sid in self._ended:
            return None
        return Session(sid, role, float(exp_text), _mac(key, "csrf:" + sid))

    def end(self, session: Session, now: float | None = None) -> None:
        now = time.time() if now is None else now
        self._ended = {s: e for s, e in self._ended.items() if e > now}   # forget the expired ones
        self._ended[session.sid] = session.expires

    @staticmethod
    def csrf_ok(session: Session, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(session.csrf, token or "")
