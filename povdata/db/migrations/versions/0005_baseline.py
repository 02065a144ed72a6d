"""Baseline: the store's tables as schema 5 left them (``povdata/db/schema_v5.py``).

A store written before migrations existed is stamped with this revision once its layout is
schema 5's (``povdata.db.legacy``), so the later revisions run on it like on any other.

Revision ID: 0005
Revises:
"""
from __future__ import annotations

from alembic import op

from povdata.db.schema_v5 import for_dialect

revision = "0005"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    for stmt in for_dialect(op.get_bind().dialect.name):
        op.execute(stmt)


def downgrade() -> None:
    raise NotImplementedError("the baseline is not undone: restore a backup instead")
