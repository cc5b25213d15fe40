"""PostgreSQL URLs as operators write them: ``postgresql://user@host/db?schema=NAME``.

Every store that shares the audit database (audit log, persona registry, profiles, alert outbox) reads
the URL the same way: ``?schema=`` is Candor's own parameter (the tables live in that schema, created
if missing), everything else goes to asyncpg."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


def split_pg_url(url: str) -> tuple[str, str | None]:
    """The asyncpg DSN and the schema named by ``?schema=``."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query)
    schema = next((v for k, v in query if k == "schema"), None)
    if schema is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", schema):
        raise ValueError(f"invalid schema name {schema!r} in the PostgreSQL URL: use letters, digits and _")
    rest = urlencode([(k, v) for k, v in query if k != "schema"])
    scheme = "postgresql" if parts.scheme.startswith("postgres") else parts.scheme
    return urlunsplit((scheme, parts.netloc, parts.path, rest, parts.fragment)), schema
