"""Per-app keys: each app presents its own bearer key; keys are compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

from middleware.config.deployment import AppConfig
from middleware.http.errors import CandorError


@dataclass(frozen=True, slots=True)
class App:
    id: str
    policy: str
    key_sha256: bytes


def key_digest(key: str) -> bytes:
    """What Candor keeps of an app key: its SHA-256 (``key_sha256`` in candor.yaml is its hex)."""
    return hashlib.sha256(key.encode()).digest()


class KeyError_(ValueError):
    pass


def load_apps(apps: list[AppConfig], environ: dict[str, str] | None = None) -> list[App]:
    env = os.environ if environ is None else environ
    out: list[App] = []
    missing: list[str] = []
    for app in apps:
        if app.key_env:
            key = env.get(app.key_env)
            if not key:
                missing.append(f"app {app.id!r}: environment variable {app.key_env} is not set")
                continue
            digest = key_digest(key)
        else:
            assert app.key_sha256 is not None
            digest = bytes.fromhex(app.key_sha256)
        out.append(App(id=app.id, policy=app.policy, key_sha256=digest))
    if missing:
        raise KeyError_("; ".join(missing) + " (export the app key there, or use key_sha256)")
    return out


class AppKeys:
    def __init__(self, apps: list[App]) -> None:
        self._apps = tuple(apps)

    def replace(self, apps: list[App]) -> None:
        """A live config reload: every route holding this object sees the new apps at once (one atomic swap)."""
        self._apps = tuple(apps)

    @property
    def apps(self) -> tuple[App, ...]:
        return self._apps

    def authenticate(self, authorization: str | None) -> App:
        if not authorization:
            raise CandorError(401, "invalid_api_key",
                              "no API key: send your Candor app key as 'Authorization: Bearer <key>' "
                              "(in the openai SDK: api_key=...)")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise CandorError(401, "invalid_api_key",
                              "the Authorization header must be 'Bearer <your Candor app key>'")
        digest = key_digest(token.strip())
        found: App | None = None
        for app in self._apps:  # no early exit: the time taken does not depend on which app matched
            if hmac.compare_digest(digest, app.key_sha256):
                found = app
        if found is None:
            raise CandorError(401, "invalid_api_key",
                              "unknown API key: use the key of an app configured in candor.yaml (apps[].key_env "
                              "or key_sha256); a provider key such as OpenAI's does not work here")
        return found
