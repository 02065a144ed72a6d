"""Stores written before the migrations (schema 2-4, ``meta.schema_version``): brought to
the schema-5 layout the baseline migration stands for, then stamped with it.

3: an indicator row is keyed by its standard too (one year under two standards); 4: the
start-of-year poor count and the published ethnic-minority rate (review forms); 5: sign-in
sessions.  Missing tables come from the frozen schema-5 statements (``IF NOT EXISTS``).
"""
from __future__ import annotations

import sqlite3

from povdata.db.schema_v5 import COUNT_COLUMNS_V5, PUBLISHED_RATES_V5, STATEMENTS

IND_COLUMNS_V5 = ("unit_code", "year", "standard", *COUNT_COLUMNS_V5, *PUBLISHED_RATES_V5)


def bring_to_v5(conn: sqlite3.Connection) -> None:
    """In one transaction: every schema-5 table, the indicator columns of schema 5, the
    standard in the indicator key (the table rebuilt, its rows kept)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for stmt in STATEMENTS:
            conn.execute(stmt)
        have = {r[1] for r in conn.execute("PRAGMA table_info(indicators)").fetchall()}
        for c in [c for c in IND_COLUMNS_V5 if c not in have]:
            kind = "REAL" if c in PUBLISHED_RATES_V5 else "INTEGER"
            conn.execute(f"ALTER TABLE indicators ADD COLUMN {c} {kind}")
        pk = [r[1] for r in sorted(conn.execute("PRAGMA table_info(indicators)").fetchall(), key=lambda r: r[5])
              if r[5] > 0]
        if "standard" not in pk:
            cols = ", ".join(["version_id", *IND_COLUMNS_V5])
            ddl = next(s for s in STATEMENTS if s.startswith("CREATE TABLE IF NOT EXISTS indicators"))
            conn.execute("ALTER TABLE indicators RENAME TO indicators_v2")
            conn.execute(ddl)
            conn.execute(f"INSERT INTO indicators ({cols}) SELECT {cols} FROM indicators_v2")
            conn.execute("DROP TABLE indicators_v2")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
