"""Schema 7: the indicator table gets the registry's new counts (issue 18): ethnic-minority
households, the 12 deprivation indicators of Decree 07/2021/NĐ-CP counted among poor households
(``deprived_employment`` and ``deprived_information`` were already there), and the programme's
outputs and funds (allocated and disbursed, million VND).  The four dimension columns of schema 5 (``deprived_health``, ``deprived_education``,
``deprived_housing``, ``deprived_water_sanitation``) were never written by any import; they stay,
unused, rather than rebuild the table.

Revision ID: 0007
Revises: 0006
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

#: frozen here: the registry may grow, this revision may not
COLUMNS = ("ethnic_minority_households", "deprived_dependants", "deprived_nutrition", "deprived_health_insurance",
           "deprived_adult_education", "deprived_child_school", "deprived_housing_quality", "deprived_housing_area",
           "deprived_water", "deprived_latrine", "deprived_telecom", "preferential_loans", "vocational_training",
           "poor_households_helped", "budget_allocated", "budget_disbursed",
           *(f"deprived_near_{k}" for k in ("employment", "dependants", "nutrition", "health_insurance", "adult_education",
                                           "child_school", "housing_quality", "housing_area", "water", "latrine",
                                           "telecom", "information")))


def upgrade() -> None:
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("indicators")}
    for c in COLUMNS:
        if c not in have:
            op.add_column("indicators", sa.Column(c, sa.Integer(), nullable=True))


def downgrade() -> None:
    for c in reversed(COLUMNS):
        op.drop_column("indicators", c)
