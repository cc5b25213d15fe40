"""The registries' tables, written once for both databases.

Statements are portable SQL with type placeholders (``{bigint}``, ``{bool}``, ``{date}``, ``{bytes}``)
that :func:`render` fills per dialect; the few statements no two dialects share (the consent ledger's
append-only triggers) are given per dialect. Each migration is a list of statements applied in one
transaction with its version row; never edit an applied one, append a new one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

Dialect = Literal["sqlite", "postgres"]
Statement = str | Mapping[Dialect, Sequence[str]]

TYPES: dict[Dialect, dict[str, str]] = {
    "sqlite": {"bigint": "INTEGER", "bool": "INTEGER", "date": "TEXT", "bytes": "BLOB", "false": "0"},
    "postgres": {"bigint": "BIGINT", "bool": "BOOLEAN", "date": "DATE", "bytes": "BYTEA", "false": "FALSE"},
}


def render(migrations: Sequence[Sequence[Statement]], dialect: Dialect) -> list[list[str]]:
    out: list[list[str]] = []
    for migration in migrations:
        statements: list[str] = []
        for item in migration:
            if isinstance(item, str):
                statements.append(item.format(**TYPES[dialect]))
            else:
                statements.extend(item[dialect])
        out.append(statements)
    return out


_APPEND_ONLY = "the consent ledger is append-only: revoke and replace instead of editing"
_LEDGER = ("likeness_consents", "likeness_revocations")

LIKENESS: list[list[Statement]] = [
    [
        "CREATE TABLE likeness_subjects (id TEXT PRIMARY KEY, deceased {bool} NOT NULL, birth_date {date},"
        " created_at {bigint} NOT NULL, updated_at {bigint} NOT NULL)",
        "CREATE TABLE likeness_personas (id TEXT PRIMARY KEY, display_name TEXT NOT NULL,"
        " relationship TEXT NOT NULL, subject_id TEXT REFERENCES likeness_subjects(id), kinds TEXT,"
        " enabled {bool} NOT NULL, created_at {bigint} NOT NULL, updated_at {bigint} NOT NULL)",
        "CREATE TABLE likeness_consents (id TEXT PRIMARY KEY,"
        " subject_id TEXT NOT NULL REFERENCES likeness_subjects(id), granted_by TEXT NOT NULL,"
        " scopes TEXT NOT NULL, purpose TEXT NOT NULL, valid_from {bigint} NOT NULL, valid_until {bigint},"
        " evidence_sha256 TEXT NOT NULL, created_at {bigint} NOT NULL,"
        " replaces TEXT REFERENCES likeness_consents(id), actor TEXT NOT NULL)",
        "CREATE INDEX likeness_consents_subject ON likeness_consents (subject_id, created_at)",
        "CREATE TABLE likeness_revocations (consent_id TEXT PRIMARY KEY REFERENCES likeness_consents(id),"
        " revoked_at {bigint} NOT NULL, reason TEXT NOT NULL, replaced_by TEXT, actor TEXT NOT NULL)",
        "CREATE TABLE likeness_revision (id INTEGER PRIMARY KEY CHECK (id = 1), revision {bigint} NOT NULL)",
        "INSERT INTO likeness_revision (id, revision) VALUES (1, 0)",
        {
            "sqlite": [f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} BEGIN"
                       f" SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END"
                       for table in _LEDGER for op in ("UPDATE", "DELETE")],
            "postgres": [
                "CREATE FUNCTION likeness_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                f" RAISE EXCEPTION '{_APPEND_ONLY}'; END $$",
                *(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}"
                  " FOR EACH ROW EXECUTE FUNCTION likeness_append_only()" for table in _LEDGER),
            ],
        },
    ],
]

PROFILES: list[list[Statement]] = [
    [
        "CREATE TABLE profiles_users (user_id TEXT PRIMARY KEY, age_band TEXT,"
        " guardian_consent {bool} NOT NULL, guardian_contact TEXT, emergency_contact TEXT,"
        " blocked_personas TEXT NOT NULL, unlabeled_allowed {bool} NOT NULL, minors_mode {bool} NOT NULL,"
        " minors_mode_override {bool} NOT NULL, updated_at {bigint}, version {bigint} NOT NULL,"
        " seq {bigint} NOT NULL)",
        "CREATE INDEX profiles_users_seq ON profiles_users (seq)",
        "CREATE TABLE profiles_revision (id INTEGER PRIMARY KEY CHECK (id = 1), revision {bigint} NOT NULL,"
        " resets {bigint} NOT NULL)",
        "INSERT INTO profiles_revision (id, revision, resets) VALUES (1, 0, 0)",
    ],
    ["ALTER TABLE profiles_users ADD COLUMN training_consent {bool} NOT NULL DEFAULT {false}"],   # ANTH-DATA-3
]

ALERTS_OUTBOX: list[list[Statement]] = [
    [
        "CREATE TABLE alerts_outbox (id TEXT PRIMARY KEY, kind TEXT NOT NULL, created_at {bigint} NOT NULL,"
        " event_id TEXT, body {bytes} NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL,"
        " next_attempt_at {bigint}, lease_owner TEXT, lease_until {bigint}, last_attempt_at {bigint},"
        " last_status INTEGER, last_error TEXT, delivered_at {bigint})",
        "CREATE INDEX alerts_outbox_due ON alerts_outbox (status, next_attempt_at)",
        "CREATE INDEX alerts_outbox_created ON alerts_outbox (created_at)",
    ],
]

HANDOVERS: list[Statement] = [   # created if missing (this table predates versioned migrations)
    "CREATE TABLE IF NOT EXISTS handovers (scope_hash TEXT NOT NULL, session_id TEXT NOT NULL, app_id TEXT,"
    " event_id TEXT, created_at {bigint} NOT NULL, released_at {bigint}, released_by TEXT)",
    "CREATE UNIQUE INDEX IF NOT EXISTS handovers_active ON handovers (scope_hash, session_id)"
    " WHERE released_at IS NULL",
]

COMPLAINTS: list[Statement] = [   # created if missing
    "CREATE TABLE IF NOT EXISTS complaints (id TEXT PRIMARY KEY, app_id TEXT NOT NULL, user_id TEXT NOT NULL,"
    " category TEXT NOT NULL, text TEXT NOT NULL, session_id TEXT, created_at {bigint} NOT NULL,"
    " due_by {bigint} NOT NULL, status TEXT NOT NULL, resolved_at {bigint}, resolution TEXT)",
    "CREATE INDEX IF NOT EXISTS complaints_status_due ON complaints (status, due_by)",
]

# The console overview's hourly rollup, in the audit log's database (migration 2 of ``audit_schema`` in both
# audit stores; ``middleware/audit/rollup.py``). Derived data: ``audit verify`` never reads these tables, and
# a log written before them is counted into them by its first refresh (every watermark starts at 0).
AUDIT_ROLLUP: list[Statement] = [
    {
        "sqlite": ["CREATE TABLE audit_rollup_counts (ts_hour INTEGER NOT NULL, stream TEXT NOT NULL,"
                   " grp TEXT NOT NULL, name TEXT NOT NULL, n INTEGER NOT NULL,"
                   " PRIMARY KEY (ts_hour, stream, grp, name)) WITHOUT ROWID"],
        "postgres": ["CREATE TABLE audit_rollup_counts (ts_hour BIGINT NOT NULL, stream TEXT NOT NULL,"
                     " grp TEXT NOT NULL, name TEXT NOT NULL, n BIGINT NOT NULL,"
                     " PRIMARY KEY (ts_hour, stream, grp, name))"],
    },
    # crises whose alert is followed, and what delivery events report of alerts, each by its event's position
    "CREATE TABLE audit_rollup_alerts (event_id TEXT PRIMARY KEY, stream TEXT NOT NULL, seq {bigint} NOT NULL,"
    " ts_hour {bigint} NOT NULL)",
    "CREATE INDEX audit_rollup_alerts_hour ON audit_rollup_alerts (ts_hour)",
    "CREATE INDEX audit_rollup_alerts_pos ON audit_rollup_alerts (stream, seq)",
    "CREATE TABLE audit_rollup_outcomes (stream TEXT NOT NULL, seq {bigint} NOT NULL, event_id TEXT NOT NULL,"
    " outcome TEXT NOT NULL, PRIMARY KEY (stream, seq, event_id))",
    "CREATE INDEX audit_rollup_outcomes_event ON audit_rollup_outcomes (event_id)",
    "CREATE TABLE audit_rollup_marks (stream TEXT PRIMARY KEY, first_seq {bigint} NOT NULL, read_to {bigint} NOT NULL)",
]
