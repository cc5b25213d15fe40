"""The auditor and admin HTTP API over the audit log.

Roles: the admin key (``cfg.admin.key_env``) reads and writes; the auditor key
(``cfg.admin.auditor_key_env``) only reads. App keys are never accepted here, so apps cannot read
the log (key checks: ``middleware.http.admin_auth``).
"""

from __future__ import annotations

import base64
from argparse import ArgumentTypeError
from collections.abc import Callable
from typing import TYPE_CHECKING

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from middleware.audit.events import KINDS, AuditUnavailable
from middleware.audit.export import with_content
from middleware.audit.keys import load_verify_keys
from middleware.audit.store import Cursor, EventFilter
from middleware.audit.verify import outside_evidence_caveats, verify_store
from middleware.http.admin_auth import guarded, role_of
from middleware.http.errors import CandorError

if TYPE_CHECKING:
    from middleware.audit.log import AuditLog
    from middleware.config.deployment import CandorConfig

_MAX_LIMIT = 1000
EVENT_PARAMS = frozenset({"session", "user", "kind", "since", "until", "limit", "cursor", "include_content"})


def parse_kinds(text: str) -> tuple[str, ...]:
    """``kind`` as a comma list; every name must be a known kind."""
    kinds = tuple(dict.fromkeys(k.strip() for k in text.split(",") if k.strip()))
    unknown = [k for k in kinds if k not in KINDS]
    if not kinds or unknown:
        raise ValueError(f"unknown kind {', '.join(map(repr, unknown)) or repr(text)}; expected a comma list of "
                         f"{', '.join(sorted(KINDS))}")
    return kinds


class _Orjson(JSONResponse):
    def render(self, content: object) -> bytes:
        return orjson.dumps(content)


def error(status: int, code: str, message: str, type_: str = "invalid_request_error",
          param: str | None = None) -> Response:
    return _Orjson({"error": {"message": message, "type": type_, "code": code, "param": param}}, status_code=status)


def _cursor_encode(c: Cursor) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(c))).decode().rstrip("=")


def _cursor_decode(text: str) -> Cursor:
    raw = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    if not (isinstance(raw, list) and len(raw) == 3 and isinstance(raw[0], int) and isinstance(raw[1], str)
            and isinstance(raw[2], int)):
        raise ValueError("bad cursor")
    return raw[0], raw[1], raw[2]


def audit_routes(get_audit: Callable[[], AuditLog], cfg: CandorConfig) -> list[Route]:
    """``GET /audit/events``, ``GET /audit/verify``, ``DELETE /admin/users/{user_id}/content``."""
    from middleware.audit.cli import parse_time  # shares the time syntax of the CLI

    async def events(request: Request) -> Response:
        audit = get_audit()
        q = request.query_params
        for name in q:
            if name not in EVENT_PARAMS:
                return error(400, "invalid_request", f"unknown query parameter {name!r}: use "
                             f"{', '.join(sorted(EVENT_PARAMS))}", param=name)
            if len(q.getlist(name)) > 1:
                return error(400, "invalid_request", f"query parameter {name!r} given more than once "
                             "(for several kinds write kind=a,b)", param=name)
        try:
            kinds = parse_kinds(q["kind"]) if "kind" in q else None
            limit = int(q.get("limit", "100"))
            if not 1 <= limit <= _MAX_LIMIT:
                raise ValueError(f"limit must be between 1 and {_MAX_LIMIT}")
            since = parse_time(q["since"]) if "since" in q else None
            until = parse_time(q["until"]) if "until" in q else None
            after = _cursor_decode(q["cursor"]) if "cursor" in q else None
        except (ValueError, TypeError, ArgumentTypeError) as exc:  # JSONDecodeError is a ValueError
            return error(400, "invalid_request", f"bad query parameter: {exc}")
        include_content = q.get("include_content") in ("1", "true")
        if include_content and role_of(request, cfg) != "admin":
            raise CandorError(403, "permission_denied", "message content is readable with the admin key only",
                              param="include_content")
        flt = EventFilter(session_id=q.get("session"), user_ref=audit.keys.user_ref(q["user"]) if "user" in q
                          else None, kinds=kinds, since_us=since, until_us=until)
        try:
            rows = await audit.store.query(flt, after, limit)
            data = await with_content(audit.store, audit.keys.master if include_content else None, rows)
        except Exception as exc:
            return error(503, "audit_unavailable", f"the audit store is unavailable: {exc}", type_="server_error")
        nxt = _cursor_encode((rows[-1].ts_us, rows[-1].stream, rows[-1].seq)) if len(rows) == limit else None
        return _Orjson({"object": "list", "data": data, "next_cursor": nxt})

    async def verify(request: Request) -> Response:
        if request.query_params:
            name = next(iter(request.query_params))
            return error(400, "invalid_request", f"unknown query parameter {name!r}: GET /audit/verify takes none "
                         "(receipts and bundles are checked with the CLI: candor audit verify --receipt/--bundle)",
                         param=name)
        audit = get_audit()
        keys = load_verify_keys(cfg) or {audit.keys.key_id: audit.keys.public}
        anchor = cfg.resolve_path(cfg.audit.anchor_file) if cfg.audit.anchor_file else None
        try:
            result = await verify_store(audit.store, keys, anchor)
        except Exception as exc:
            return error(503, "audit_unavailable", f"the audit store is unavailable: {exc}", type_="server_error")
        if result.ok:
            from middleware.audit.keys import key_beside_store

            result.caveats += outside_evidence_caveats(anchor_file=anchor, receipt=False,
                                                       witness_url=cfg.audit.witness_url,
                                                       key_beside_db=key_beside_store(cfg))
        return _Orjson(result.to_dict())

    async def erase(request: Request) -> Response:
        user_id = request.path_params["user_id"]
        try:
            event, keys, contents = await get_audit().erase_user(user_id, actor="admin-api")
        except AuditUnavailable as exc:
            return error(503, "audit_unavailable", str(exc), type_="server_error")
        return _Orjson({"user_ref": event.user_ref, "keys_destroyed": keys, "contents_deleted": contents,
                        "event_id": event.event_id})

    return [
        Route("/audit/events", guarded(events, cfg, write=False), methods=["GET"]),
        Route("/audit/verify", guarded(verify, cfg, write=False), methods=["GET"]),
        Route("/admin/users/{user_id}/content", guarded(erase, cfg, write=True), methods=["DELETE"]),
    ]
