"""Persona registry and consent ledger in PostgreSQL (the audit log's database, own tables), via asyncpg.

Same tables, columns and behaviour as the SQLite store (both map rows through
``middleware.likeness.rows``). Pool, schema and advisory-locked migrations: ``adapters.postgres.db``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import asyncpg

from adapters.postgres.db import PostgresStore
from adapters.stores.schemas import LIKENESS, render
from middleware.likeness.models import Consent, Persona, Subject, to_us
from middleware.likeness.rows import (
    CONSENT_SELECT,
    PERSONA_SELECT,
    REVOCABLE_SELECT,
    check_revocable,
    consent_from_row,
    kinds_text,
    persona_from_row,
)
from middleware.likeness.store import AlreadyExists, Conflict, GateState, NotFound

MIGRATIONS = render(LIKENESS, "postgres")

_UPSERT_SUBJECT = (
    "INSERT INTO likeness_subjects (id, deceased, birth_date, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)"
    " ON CONFLICT (id) DO UPDATE SET deceased = excluded.deceased, birth_date = excluded.birth_date,"
    " updated_at = excluded.updated_at"
)
_BUMP = "UPDATE likeness_revision SET revision = revision + 1 WHERE id = 1"


def _pg(sql: str) -> str:
    """The shared SELECTs use ``?`` placeholders; asyncpg wants ``$1, $2, ...``."""
    count = 0

    def number(_: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return f"${count}"

    return re.sub(r"\?", number, sql)


class PostgresLikenessStore(PostgresStore):
    lock_key = 0x63616E646F72_01  # "candor" + 1: the likeness migrations' advisory lock
    version_table = "likeness_schema_version"
    MIGRATIONS = MIGRATIONS

    # -- reads ----------------------------------------------------------------------------------

    async def revision(self) -> int:
        return int(await self.pool.fetchval("SELECT revision FROM likeness_revision WHERE id = 1"))

    async def get_subject(self, subject_id: str) -> Subject | None:
        row = await self.pool.fetchrow("SELECT id, deceased, birth_date FROM likeness_subjects WHERE id = $1",
                                       subject_id)
        return None if row is None else Subject(id=row[0], deceased=row[1], birth_date=row[2])

    async def get_persona(self, persona_id: str) -> Persona | None:
        row = await self.pool.fetchrow(_pg(PERSONA_SELECT + " WHERE p.id = ?"), persona_id)
        return None if row is None else persona_from_row(row)

    async def list_personas(self) -> list[Persona]:
        return [persona_from_row(r) for r in await self.pool.fetch(PERSONA_SELECT + " ORDER BY p.id")]

    async def get_consent(self, consent_id: str) -> Consent | None:
        row = await self.pool.fetchrow(_pg(CONSENT_SELECT + " WHERE c.id = ?"), consent_id)
        return None if row is None else consent_from_row(row)

    async def list_consents(self, subject_id: str | None = None) -> list[Consent]:
        if subject_id is None:
            rows = await self.pool.fetch(CONSENT_SELECT + " ORDER BY c.created_at, c.id")
        else:
            rows = await self.pool.fetch(_pg(CONSENT_SELECT + " WHERE c.subject_id = ? ORDER BY c.created_at, c.id"),
                                         subject_id)
        return [consent_from_row(r) for r in rows]

    async def load_gate_state(self, persona_id: str) -> GateState | None:
        async with self.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            row = await conn.fetchrow(_pg(PERSONA_SELECT + " WHERE p.id = ?"), persona_id)
            if row is None:
                return None
            consents: list[Any] = []
            if row[3] is not None:
                consents = await conn.fetch(_pg(
                    CONSENT_SELECT + " WHERE c.subject_id = ? AND r.consent_id IS NULL ORDER BY c.created_at"),
                    row[3])
        return GateState(persona_from_row(row), tuple(consent_from_row(c) for c in consents))

    # -- writes ---------------------------------------------------------------------------------

    async def insert_persona(self, persona: Persona, subject: Subject | None) -> None:
        await self._put_persona(persona, subject, create=True)

    async def update_persona(self, persona: Persona, subject: Subject | None) -> None:
        await self._put_persona(persona, subject, create=False)

    async def _put_persona(self, persona: Persona, subject: Subject | None, *, create: bool) -> None:
        now = to_us(persona.updated_at)
        lk = persona.likeness
        values = (persona.display_name, persona.relationship, lk.subject_id if lk else None,
                  kinds_text(lk.kinds) if lk else None, persona.enabled)
        async with self.pool.acquire() as conn, conn.transaction():
            if subject is not None:
                await conn.execute(_UPSERT_SUBJECT, subject.id, subject.deceased, subject.birth_date, now, now)
            if create:
                try:
                    await conn.execute("INSERT INTO likeness_personas (id, display_name, relationship, subject_id,"
                                       " kinds, enabled, created_at, updated_at)"
                                       " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                                       persona.id, *values, to_us(persona.created_at), now)
                except asyncpg.UniqueViolationError as exc:
                    raise AlreadyExists(f"persona {persona.id!r} already exists") from exc
            else:
                status = await conn.execute("UPDATE likeness_personas SET display_name = $1, relationship = $2,"
                                            " subject_id = $3, kinds = $4, enabled = $5, updated_at = $6"
                                            " WHERE id = $7", *values, now, persona.id)
                if status.endswith(" 0"):
                    raise NotFound(f"persona {persona.id!r} does not exist")
            await conn.execute(_BUMP)

    async def insert_consent(self, consent: Consent) -> None:
        c = consent
        async with self.pool.acquire() as conn, conn.transaction():
            if c.replaces is not None:
                await self._check_revocable(conn, c.replaces, subject_id=c.subject_id)
            try:
                await conn.execute("INSERT INTO likeness_consents (id, subject_id, granted_by, scopes, purpose,"
                                   " valid_from, valid_until, evidence_sha256, created_at, replaces, actor)"
                                   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                                   c.id, c.subject_id, c.granted_by, kinds_text(c.scopes), c.purpose,
                                   to_us(c.valid_from), to_us(c.valid_until) if c.valid_until else None,
                                   c.evidence_sha256, to_us(c.created_at), c.replaces, c.actor)
            except asyncpg.UniqueViolationError as exc:
                raise AlreadyExists(f"consent {c.id!r} already exists") from exc
            except asyncpg.ForeignKeyViolationError as exc:
                raise NotFound(f"subject {c.subject_id!r} is not registered") from exc
            if c.replaces is not None:
                await conn.execute("INSERT INTO likeness_revocations (consent_id, revoked_at, reason, replaced_by,"
                                   " actor) VALUES ($1, $2, $3, $4, $5)",
                                   c.replaces, to_us(c.created_at), f"replaced by {c.id}", c.id, c.actor)
            await conn.execute(_BUMP)

    @staticmethod
    async def _check_revocable(conn: Any, consent_id: str, subject_id: str | None = None) -> None:
        # FOR UPDATE OF c: two concurrent revocations of one consent serialise here
        row = await conn.fetchrow(_pg(REVOCABLE_SELECT + " FOR UPDATE OF c"), consent_id)
        check_revocable(row, consent_id, subject_id)

    async def revoke_consent(self, consent_id: str, at: datetime, reason: str, actor: str) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await self._check_revocable(conn, consent_id)
            try:
                await conn.execute("INSERT INTO likeness_revocations (consent_id, revoked_at, reason, replaced_by,"
                                   " actor) VALUES ($1, $2, $3, NULL, $4)", consent_id, to_us(at), reason, actor)
            except asyncpg.UniqueViolationError as exc:
                raise Conflict(f"consent {consent_id!r} was already revoked") from exc
            await conn.execute(_BUMP)
