"""Alembic's entry: runs the migrations on the connection :func:`povdata.db.upgrade` hands
over (or on ``sqlalchemy.url`` for the ``alembic`` command line)."""
from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=None, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    with create_engine(context.config.get_main_option("sqlalchemy.url") or "", poolclass=pool.NullPool).connect() as conn:
        _run(conn)
        conn.commit()
