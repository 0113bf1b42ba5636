"""The agent's holds of a call: how many, and the seconds the caller spent on hold.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("interactions") as batch:
        batch.add_column(sa.Column("hold_count", sa.Integer(), nullable=False, server_default=sa.text("0")))
        batch.add_column(sa.Column("hold_seconds", sa.Float(), nullable=False, server_default=sa.text("0")))


def downgrade() -> None:
    with op.batch_alter_table("interactions") as batch:
        batch.drop_column("hold_seconds")
        batch.drop_column("hold_count")
