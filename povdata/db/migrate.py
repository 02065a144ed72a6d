"""The store's schema and its migrations (Alembic, over SQLAlchemy).

Every change to the store's tables is a migration in ``povdata/db/migrations/versions``,
run by :func:`upgrade` when a process first opens the store:

* a new store is made by the baseline (``0005``, the tables of schema 5) and every later
  revision;
* a store written before migrations existed (``meta.schema_version`` 2-6, no
  ``alembic_version`` table) is first brought to schema 5's layout
  (:func:`povdata.db.legacy.bring_to_v5`), stamped, then upgraded like any other;
* processes opening the same store at once wait for each other (a lock on its folder).

``meta.schema_version`` keeps the number the backups check (:data:`SCHEMA_VERSION`): a
backup made by a newer release is refused.  Adding a column to the indicator table is a new
revision and ``SCHEMA_VERSION + 1``; ``tests/test_migrations.py`` upgrades a store written by
the previous release.
"""
from __future__ import annotations

import fcntl
import functools
import os
import sqlite3
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Iterator

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: the newest revision, and the schema number it stands for (the store's ``meta.schema_version``)
HEAD = "0009"
SCHEMA_VERSION = 9
#: the revision a store written before migrations is stamped with, by its ``schema_version``
_STAMP = {5: "0005", 6: "0006"}


class MigrationError(RuntimeError):
    """The store's schema could not be brought up to date (its message names the cause)."""


def _config(connection):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


@contextmanager
def folder_lock(path: Path) -> Iterator[None]:
    """Held on the store's folder (``flock`` on the directory: no file of its own, and
    independent of SQLite's locks on the store)."""
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _revision(path: Path) -> str | None:
    with closing(sqlite3.connect(path, timeout=30)) as conn:
        if "alembic_version" not in _tables(conn):
            return None
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        return row[0] if row else None


def _adopt(path: Path) -> str | None:
    """A store from before migrations: brought to schema 5's layout if older; the revision it
    is to be stamped with (None for an empty file: the baseline makes everything)."""
    from povdata.db.legacy import bring_to_v5

    with closing(sqlite3.connect(path, timeout=30, isolation_level=None)) as conn:
        if "meta" not in _tables(conn):
            return None
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        version = int(row[0]) if row and str(row[0]).isdigit() else None
        if version is None:
            return None
        if version < 5:
            bring_to_v5(conn)
            version = 5
        return _STAMP.get(version, HEAD if version > SCHEMA_VERSION else "0005")


def upgrade(path: str | Path) -> str:
    """Bring the SQLite store at ``path`` (created if missing) to :data:`HEAD`; the revision
    it was at (``''`` for a new store).  Idempotent, safe from several processes at once;
    :class:`MigrationError` when it cannot be done (the store is then as it was: each
    revision runs in one transaction)."""
    path = Path(path)
    try:
        return _upgrade(path)
    except (OSError, sqlite3.Error) as exc:
        raise MigrationError(str(exc)) from exc
    except Exception as exc:  # SQLAlchemy's and Alembic's own errors
        raise MigrationError(f"{type(exc).__name__}: {exc}") from exc


def _upgrade(path: Path) -> str:
    with folder_lock(path):
        before = _revision(path) if path.exists() else None
        if before == HEAD:  # the common case: no Alembic, no SQLAlchemy imported (a CLI call stays quick)
            return before
        from alembic import command
        from sqlalchemy import create_engine, pool

        engine = create_engine(f"sqlite:///{path}", poolclass=pool.NullPool)
        try:
            if before is None:
                stamp = _adopt(path) if path.exists() else None
                if stamp is not None:
                    with engine.begin() as conn:
                        command.stamp(_config(conn), stamp)
                    before = f"{stamp} (stamped)"
            if before != HEAD:
                with engine.begin() as conn:
                    command.upgrade(_config(conn), "head")
        finally:
            engine.dispose()
        with closing(sqlite3.connect(path, timeout=30)) as db, db:
            db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
    return before or ""


def upgrade_url(url: str) -> None:
    """Bring the database at a SQLAlchemy ``url`` (PostgreSQL: ``postgresql+psycopg://…``)
    to :data:`HEAD`, in one transaction per revision; :class:`MigrationError` if it cannot."""
    from alembic import command
    from sqlalchemy import create_engine, pool, text

    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # one migrating process at a time, whoever starts first
                conn.execute(text("SELECT pg_advisory_xact_lock(7306155)"))
            command.upgrade(_config(conn), "head")
            conn.execute(text("DELETE FROM meta WHERE key = 'schema_version'"))
            conn.execute(text("INSERT INTO meta VALUES ('schema_version', :v)"), {"v": str(SCHEMA_VERSION)})
    except Exception as exc:
        raise MigrationError(f"{type(exc).__name__}: {exc}") from exc
    finally:
        engine.dispose()


def fresh_columns() -> dict[str, list[str]]:
    """The columns of every table a new store has (the migrations run on a throw-away file,
    once per process: the schema is this release's)."""
    return {t: list(cols) for t, cols in _fresh_columns().items()}


@functools.lru_cache(maxsize=1)
def _fresh_columns() -> dict[str, tuple[str, ...]]:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="povdash-schema-") as tmp:
        path = Path(tmp) / "fresh.sqlite"
        upgrade(path)
        with closing(sqlite3.connect(path)) as conn:
            return {t: tuple(r[1] for r in conn.execute(f'PRAGMA table_info("{t}")'))
                    for t in sorted(_tables(conn)) if t != "alembic_version" and not t.startswith("sqlite_")}
