"""Reading and writing a test's store directly, on SQLite or PostgreSQL alike (the store the
code under test uses: ``POVDASH_DATABASE_URL`` when the suite runs on PostgreSQL,
tests/conftest.py)."""
from __future__ import annotations

from contextlib import closing

from povdata.db import Store, q, transaction


def rows(store: Store, sql: str, params: dict | None = None) -> list[tuple]:
    with closing(store.connect()) as conn:
        return [tuple(r) for r in q(conn, sql, params)]


def value(store: Store, sql: str, params: dict | None = None):
    with closing(store.connect()) as conn:
        return q(conn, sql, params).scalar()


def execute(store: Store, sql: str, params: dict | None = None) -> None:
    """One statement in its own write transaction (what a hand edit of the database does)."""
    with transaction(store) as conn:
        q(conn, sql, params)


def counts(store: Store, tables=("versions", "indicators", "boundary_layers", "boundary_sets", "boundary_units")
           ) -> tuple[int, ...]:
    with closing(store.connect()) as conn:
        return tuple(int(q(conn, f"SELECT COUNT(*) FROM {t}").scalar_one()) for t in tables)
