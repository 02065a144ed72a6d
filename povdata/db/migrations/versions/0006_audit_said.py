"""Schema 6: each audit row keeps its summary's catalogue key and parameters (``said``), so
the trail reads in the UI's language; rows written before keep '' and show as stored.

Revision ID: 0006
Revises: 0005
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    cols = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("audit")}
    if "said" not in cols:  # a store this session's code already brought to 6 without migrations
        op.add_column("audit", sa.Column("said", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    op.drop_column("audit", "said")
