"""The leading controller's term, for fencing: the database refuses the writes of a controller whose term (fencing
token) is older than the one recorded here. One row; a controller that takes the lease raises it before it writes.

Revision ID: 0032
Revises: 0031
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032"
down_revision: str | Sequence[str] | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    terms = op.create_table(
        "controller_terms",
        sa.Column("term_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.Column("holder", sa.String(200)),
        sa.Column("claimed_at", sa.DateTime(timezone=True)),
    )
    op.bulk_insert(terms, [{"term_id": 1, "token": 0, "holder": None, "claimed_at": None}])


def downgrade() -> None:
    op.drop_table("controller_terms")
