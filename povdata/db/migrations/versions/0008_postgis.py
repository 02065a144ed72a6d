"""Schema 8, PostgreSQL only (nothing changes in a SQLite store): boundary geometry in a
PostGIS column (``geometry(Geometry, 4326)``, converted from the WKB stored so far) with a
spatial index, and the audit trail closed to ``UPDATE``, ``DELETE`` and ``TRUNCATE`` for the
role the app connects as (the owner's own privileges revoked; the trigger of the baseline
still refuses row changes, and ``TRUNCATE``, which fires no row trigger, is now refused too).

PostGIS must be installable on the server (Debian: ``postgresql-15-postgis-3``); creating
the extension needs a superuser once (``CREATE EXTENSION postgis``), after which the app's
role only needs to own its tables.

Revision ID: 0008
Revises: 0007
"""
from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute("ALTER TABLE boundaries ALTER COLUMN geom TYPE geometry(Geometry, 4326) "
               "USING ST_GeomFromWKB(geom, 4326)")
    op.execute("CREATE INDEX IF NOT EXISTS boundaries_geom ON boundaries USING GIST (geom)")
    op.execute("REVOKE UPDATE, DELETE, TRUNCATE ON audit FROM CURRENT_USER")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("GRANT UPDATE, DELETE, TRUNCATE ON audit TO CURRENT_USER")
    op.execute("DROP INDEX IF EXISTS boundaries_geom")
    op.execute("ALTER TABLE boundaries ALTER COLUMN geom TYPE bytea USING ST_AsBinary(geom)")
