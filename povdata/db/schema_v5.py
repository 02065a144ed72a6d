"""The store's tables as schema 5 left them (frozen: never edited; later changes are migrations).

The baseline migration creates them; a store older than schema 5 gets the missing ones
(``IF NOT EXISTS``) before :func:`povdata.db.legacy.bring_to_v5` fixes the rest.  The
indicator columns are written out, not taken from the registry, so that adding an indicator
to the code is a migration (``povdata/db/migrations/versions``), never a silent change here.
"""
from __future__ import annotations

#: the count columns and published rates of the indicator table at schema 5
COUNT_COLUMNS_V5 = ('households_total', 'poor_households', 'near_poor_households', 'poor_households_start', 'escaped_poor', 'newly_poor', 're_poor', 'ethnic_minority_poor', 'population', 'deprived_employment', 'deprived_health', 'deprived_education', 'deprived_housing', 'deprived_water_sanitation', 'deprived_information')
PUBLISHED_RATES_V5 = ('poverty_rate_published', 'near_poor_rate_published', 'ethnic_minority_rate_published')

STATEMENTS: tuple[str, ...] = (
    'CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)',
    """CREATE TABLE IF NOT EXISTS datasets (
    province_code TEXT PRIMARY KEY,
    title TEXT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    province_code TEXT NOT NULL REFERENCES datasets(province_code),
    number INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    source_file TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    boundary_file TEXT NOT NULL DEFAULT '',
    boundary_sha256 TEXT NOT NULL DEFAULT '',
    data_status TEXT NOT NULL CHECK (data_status IN ('illustrative', 'published', 'imported')),
    title TEXT NOT NULL,
    era TEXT NOT NULL DEFAULT 'legacy',
    years TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    UNIQUE (province_code, number)
)""",
    """CREATE TABLE IF NOT EXISTS indicators (
    version_id INTEGER NOT NULL REFERENCES versions(id),
    unit_code TEXT NOT NULL,
    year INTEGER NOT NULL,
    standard TEXT NOT NULL,
    households_total INTEGER, poor_households INTEGER, near_poor_households INTEGER, poor_households_start INTEGER, escaped_poor INTEGER, newly_poor INTEGER, re_poor INTEGER, ethnic_minority_poor INTEGER, population INTEGER, deprived_employment INTEGER, deprived_health INTEGER, deprived_education INTEGER, deprived_housing INTEGER, deprived_water_sanitation INTEGER, deprived_information INTEGER,
    poverty_rate_published REAL, near_poor_rate_published REAL, ethnic_minority_rate_published REAL,
    PRIMARY KEY (version_id, unit_code, year, standard)
) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS boundaries (
    version_id INTEGER NOT NULL REFERENCES versions(id),
    layer TEXT NOT NULL,
    code TEXT NOT NULL,
    province_code TEXT,
    district_code TEXT,
    geom BLOB NOT NULL,
    PRIMARY KEY (version_id, layer, code)
) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS boundary_layers (
    version_id INTEGER NOT NULL REFERENCES versions(id),
    layer TEXT NOT NULL,
    source TEXT NOT NULL,
    approximate INTEGER NOT NULL,
    PRIMARY KEY (version_id, layer)
) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    display_name TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL DEFAULT '',
    role TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    province_code TEXT,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS sign_in_sessions (
    token_hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('ticket', 'session')),
    username TEXT NOT NULL,
    role TEXT NOT NULL,
    province_code TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    revoked_at REAL
)""",
    'CREATE INDEX IF NOT EXISTS sign_in_sessions_user ON sign_in_sessions (username)',
    """CREATE TABLE IF NOT EXISTS sign_in_failures (
    username TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_failed_at REAL NOT NULL,
    locked_until REAL NOT NULL DEFAULT 0
)""",
    """CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    province_code TEXT NOT NULL DEFAULT '',
    summary TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
)""",
    """CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END""",
    """CREATE TABLE IF NOT EXISTS target_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    province_code TEXT NOT NULL,
    period_id TEXT NOT NULL DEFAULT '',
    target_id TEXT NOT NULL DEFAULT '',
    field TEXT NOT NULL,
    value REAL NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS target_rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    province_code TEXT NOT NULL,
    period_id TEXT NOT NULL,
    target_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    rule TEXT NOT NULL,
    value REAL NOT NULL,
    source TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    province_code TEXT NOT NULL,
    number TEXT NOT NULL,
    date TEXT NOT NULL,
    issuer TEXT NOT NULL,
    action TEXT NOT NULL,
    status TEXT NOT NULL,
    unit_code TEXT NOT NULL,
    period_start INTEGER,
    period_end INTEGER,
    basis TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL,
    actor TEXT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS unit_aliases (
    province_code TEXT NOT NULL,
    era TEXT NOT NULL,
    name_key TEXT NOT NULL,
    code TEXT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    PRIMARY KEY (province_code, era, name_key)
)""",
    """CREATE TABLE IF NOT EXISTS shared_scenarios (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    province_code TEXT NOT NULL,
    name TEXT NOT NULL,
    query TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL
)""",
)


def for_dialect(name: str) -> tuple[str, ...]:
    """The statements for a database: SQLite's as written; PostgreSQL's with its own types
    (identity keys, ``BYTEA``, ``DOUBLE PRECISION``, no ``WITHOUT ROWID``) and the audit
    trail's append-only rule as a PL/pgSQL trigger."""
    if name == "sqlite":
        return STATEMENTS
    if name != "postgresql":
        raise ValueError(f"unsupported database {name!r} (SQLite or PostgreSQL)")
    out = []
    for stmt in STATEMENTS:
        if stmt.startswith("CREATE TRIGGER"):
            continue
        stmt = (stmt.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")
                .replace(") WITHOUT ROWID", ")").replace(" BLOB ", " BYTEA ").replace(" REAL", " DOUBLE PRECISION")
                .replace("version_id INTEGER", "version_id BIGINT"))
        out.append(stmt)
    out.append("CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
               "BEGIN RAISE EXCEPTION 'audit trail is append-only'; END $$")
    out.append("CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit "
               "FOR EACH ROW EXECUTE FUNCTION audit_append_only()")
    return tuple(out)

