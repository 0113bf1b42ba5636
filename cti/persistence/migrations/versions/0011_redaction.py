"""Erasure and retention: when an interaction's personal fields were removed (a customer's erasure, or the
retention period running out), so that later writes leave them removed and the purge finds what is left to do.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("interactions") as batch:
        batch.add_column(sa.Column("redacted_at", sa.DateTime(timezone=True), nullable=True))
        # The retention purge asks for rows not yet redacted that arrived before a day: one range scan.
        batch.create_index("ix_interactions_redacted_at_arrived_at", ["redacted_at", "arrived_at"])


def downgrade() -> None:
    with op.batch_alter_table("interactions") as batch:
        batch.drop_index("ix_interactions_redacted_at_arrived_at")
        batch.drop_column("redacted_at")
