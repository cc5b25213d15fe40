"""Who a request is for: app, end user, session, persona, age band, and what the app renders itself."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from middleware.http.errors import invalid_request

AGE_BANDS = ("under14", "minor", "adult", "elderly")
RENDERABLE = ("labels", "notices")

H_USER = "x-candor-user"
H_SESSION = "x-candor-session"
H_PERSONA = "x-candor-persona"
H_AGE_BAND = "x-candor-age-band"
H_RENDERS = "x-candor-client-renders"
H_UNLABELED = "x-candor-unlabeled"   # 1: deliver without the explicit label, if the user's profile allows it

_MAX_ID = 256
_TOKEN = re.compile(r"[\x21-\x7e]{1,256}")   # visible ASCII: safe to echo back in a response header


@dataclass(slots=True)
class RequestContext:
    app_id: str
    user_id: str | None
    session_hint: str | None       # X-Candor-Session, when the app manages sessions itself
    persona_id: str | None
    age_band: str | None           # claimed by the app; a registered profile wins (issue: user profiles)
    client_renders: frozenset[str]
    accept_language: str | None = None
    session_id: str | None = None  # resolved by the session clock at admission
    unlabeled: bool = False        # X-Candor-Unlabeled: 1 (LABEL-UNLABELED-1; honoured only if the profile allows)

    @property
    def renders_labels(self) -> bool:
        return "labels" in self.client_renders

    @property
    def renders_notices(self) -> bool:
        return "notices" in self.client_renders


def _ident(value: Any, name: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise invalid_request(f"{name} must be a string", param=name)
    value = value.strip()
    if len(value) > _MAX_ID:
        raise invalid_request(f"{name} is longer than {_MAX_ID} characters", param=name)
    return value or None


def resolve_context(app_id: str, headers: Mapping[str, str], body: dict[str, Any]) -> RequestContext:
    """Read the contract's ``X-Candor-*`` headers and the body's ``user``.

    The header wins over the body's ``user``: an app may send a different (say, hashed) id to the
    provider in ``user`` and the id Candor should track in ``X-Candor-User``.
    """
    user = _ident(headers.get(H_USER), "X-Candor-User") or _ident(body.get("user"), "user")
    age = headers.get(H_AGE_BAND)
    if age is not None:
        age = age.strip().lower()
        if age not in AGE_BANDS:
            raise invalid_request(
                f"X-Candor-Age-Band {age!r} is not one of {', '.join(AGE_BANDS)}", param="X-Candor-Age-Band")
    renders: frozenset[str] = frozenset()
    raw = headers.get(H_RENDERS)
    if raw:
        parts = {p.strip().lower() for p in raw.split(",") if p.strip()}
        unknown = parts - set(RENDERABLE)
        if unknown:
            raise invalid_request(
                f"X-Candor-Client-Renders may list {', '.join(RENDERABLE)}; unknown: {', '.join(sorted(unknown))}",
                param="X-Candor-Client-Renders")
        renders = frozenset(parts)
    unlabeled = _flag(headers.get(H_UNLABELED), "X-Candor-Unlabeled")
    return RequestContext(
        app_id=app_id,
        user_id=user,
        session_hint=_session(headers.get(H_SESSION)),
        persona_id=_ident(headers.get(H_PERSONA), "X-Candor-Persona"),
        age_band=age,
        client_renders=renders,
        accept_language=headers.get("accept-language"),
        unlabeled=unlabeled,
    )


def _session(value: str | None) -> str | None:
    """The app's session id is echoed back in ``X-Candor-Session``: only visible ASCII, so nothing it
    carries can change the response's headers or fail to encode."""
    session = _ident(value, "X-Candor-Session")
    if session is not None and not _TOKEN.fullmatch(session):
        raise invalid_request("X-Candor-Session may hold only visible ASCII characters (letters, digits, "
                              "punctuation; no spaces), at most 256", param="X-Candor-Session")
    return session


def _flag(value: str | None, name: str) -> bool:
    if value is None:
        return False
    low = value.strip().lower()
    if low in ("1", "true", "yes"):
        return True
    if low in ("", "0", "false", "no"):
        return False
    raise invalid_request(f"{name} must be 1 or 0, not {value!r}", param=name)
