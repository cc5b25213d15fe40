"""Persona registry and consent ledger in SQLite (the audit log's database file, own tables).

The connection plumbing (one connection on one worker thread, WAL, explicit transactions) is
``adapters.sqlite.db``'s; ``foreign_keys`` is on, since personas and consents reference subjects.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from adapters.sqlite.db import SqliteStore, migrate
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
from middleware.likeness.store import AlreadyExists, GateState, NotFound

T = TypeVar("T")

# each migration is a list of statements, applied in one transaction with its version row
MIGRATIONS = render(LIKENESS, "sqlite")

_UPSERT_SUBJECT = (
    "INSERT INTO likeness_subjects (id, deceased, birth_date, created_at, updated_at) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (id) DO UPDATE SET deceased = excluded.deceased, birth_date = excluded.birth_date,"
    " updated_at = excluded.updated_at"
)
_BUMP = "UPDATE likeness_revision SET revision = revision + 1 WHERE id = 1"


class SqliteLikenessStore(SqliteStore):
    foreign_keys = True

    def _setup(self, db: sqlite3.Connection) -> None:
        migrate(db, "likeness_schema_version", MIGRATIONS)

    def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in one IMMEDIATE transaction that also bumps the revision."""

        def write(db: sqlite3.Connection) -> T:
            result = fn(db)
            db.execute(_BUMP)
            return result

        return self._transaction(write)

    # -- reads ----------------------------------------------------------------------------------

    async def revision(self) -> int:
        return await self._run(self._revision_sync)

    def _revision_sync(self) -> int:
        return int(self._db.execute("SELECT revision FROM likeness_revision WHERE id = 1").fetchone()[0])

    async def get_subject(self, subject_id: str) -> Subject | None:
        row = await self._run(self._one, "SELECT id, deceased, birth_date FROM likeness_subjects WHERE id = ?",
                              (subject_id,))
        return None if row is None else Subject(id=row[0], deceased=bool(row[1]), birth_date=row[2])

    async def get_persona(self, persona_id: str) -> Persona | None:
        row = await self._run(self._one, PERSONA_SELECT + " WHERE p.id = ?", (persona_id,))
        return None if row is None else persona_from_row(row)

    async def list_personas(self) -> list[Persona]:
        rows = await self._run(self._all, PERSONA_SELECT + " ORDER BY p.id", ())
        return [persona_from_row(r) for r in rows]

    async def get_consent(self, consent_id: str) -> Consent | None:
        row = await self._run(self._one, CONSENT_SELECT + " WHERE c.id = ?", (consent_id,))
        return None if row is None else consent_from_row(row)

    async def list_consents(self, subject_id: str | None = None) -> list[Consent]:
        if subject_id is None:
            rows = await self._run(self._all, CONSENT_SELECT + " ORDER BY c.created_at, c.id", ())
        else:
            rows = await self._run(self._all, CONSENT_SELECT + " WHERE c.subject_id = ? ORDER BY c.created_at, c.id",
                                   (subject_id,))
        return [consent_from_row(r) for r in rows]

    async def load_gate_state(self, persona_id: str) -> GateState | None:
        return await self._run(self._gate_state_sync, persona_id)

    def _gate_state_sync(self, persona_id: str) -> GateState | None:
        # one read transaction, so the persona and its consents are from the same moment
        db = self._db
        db.execute("BEGIN")
        try:
            row = db.execute(PERSONA_SELECT + " WHERE p.id = ?", (persona_id,)).fetchone()
            consents: list[Any] = []
            if row is not None and row[3] is not None:
                consents = db.execute(
                    CONSENT_SELECT + " WHERE c.subject_id = ? AND r.consent_id IS NULL ORDER BY c.created_at",
                    (row[3],)).fetchall()
        finally:
            db.execute("COMMIT")
        if row is None:
            return None
        return GateState(persona_from_row(row), tuple(consent_from_row(c) for c in consents))

    # -- writes ---------------------------------------------------------------------------------

    async def insert_persona(self, persona: Persona, subject: Subject | None) -> None:
        await self._run(self._write, partial(self._put_persona, persona, subject, True))

    async def update_persona(self, persona: Persona, subject: Subject | None) -> None:
        await self._run(self._write, partial(self._put_persona, persona, subject, False))

    @staticmethod
    def _put_persona(persona: Persona, subject: Subject | None, create: bool, db: sqlite3.Connection) -> None:
        now = to_us(persona.updated_at)
        if subject is not None:
            db.execute(_UPSERT_SUBJECT, (subject.id, int(subject.deceased),
                                         subject.birth_date.isoformat() if subject.birth_date else None, now, now))
        lk = persona.likeness
        values = (persona.display_name, persona.relationship, lk.subject_id if lk else None,
                  kinds_text(lk.kinds) if lk else None, int(persona.enabled))
        if create:
            try:
                db.execute("INSERT INTO likeness_personas (id, display_name, relationship, subject_id, kinds,"
                           " enabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           (persona.id, *values, to_us(persona.created_at), now))
            except sqlite3.IntegrityError as exc:
                raise AlreadyExists(f"persona {persona.id!r} already exists") from exc
            return
        cur = db.execute("UPDATE likeness_personas SET display_name = ?, relationship = ?, subject_id = ?,"
                         " kinds = ?, enabled = ?, updated_at = ? WHERE id = ?", (*values, now, persona.id))
        if cur.rowcount == 0:
            raise NotFound(f"persona {persona.id!r} does not exist")

    async def insert_consent(self, consent: Consent) -> None:
        await self._run(self._write, partial(self._insert_consent, consent))

    def _insert_consent(self, c: Consent, db: sqlite3.Connection) -> None:
        if c.replaces is not None:
            self._check_revocable(db, c.replaces, subject_id=c.subject_id)
        try:
            db.execute("INSERT INTO likeness_consents (id, subject_id, granted_by, scopes, purpose, valid_from,"
                       " valid_until, evidence_sha256, created_at, replaces, actor)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (c.id, c.subject_id, c.granted_by, kinds_text(c.scopes), c.purpose, to_us(c.valid_from),
                        to_us(c.valid_until) if c.valid_until else None, c.evidence_sha256, to_us(c.created_at),
                        c.replaces, c.actor))
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" in str(exc) or "PRIMARY" in str(exc):
                raise AlreadyExists(f"consent {c.id!r} already exists") from exc
            raise NotFound(f"subject {c.subject_id!r} is not registered") from exc
        if c.replaces is not None:
            db.execute("INSERT INTO likeness_revocations (consent_id, revoked_at, reason, replaced_by, actor)"
                       " VALUES (?, ?, ?, ?, ?)",
                       (c.replaces, to_us(c.created_at), f"replaced by {c.id}", c.id, c.actor))

    @staticmethod
    def _check_revocable(db: sqlite3.Connection, consent_id: str, subject_id: str | None = None) -> None:
        check_revocable(db.execute(REVOCABLE_SELECT, (consent_id,)).fetchone(), consent_id, subject_id)

    async def revoke_consent(self, consent_id: str, at: datetime, reason: str, actor: str) -> None:
        def revoke(db: sqlite3.Connection) -> None:
            self._check_revocable(db, consent_id)
            db.execute("INSERT INTO likeness_revocations (consent_id, revoked_at, reason, replaced_by, actor)"
                       " VALUES (?, ?, ?, NULL, ?)", (consent_id, to_us(at), reason, actor))

        await self._run(self._write, revoke)
