"""Outbound calls: each interaction's direction, the customers' consent to be called, the do-not-call list.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("interactions") as batch:
        batch.add_column(sa.Column("direction", sa.String(8), server_default="inbound", nullable=False))
    with op.batch_alter_table("customers") as batch:
        # Opt-in like every consent: nobody is called until they agreed.
        batch.add_column(sa.Column("consent_phone_calls", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        "do_not_call",
        sa.Column("entry_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("number", sa.String(32), nullable=False, unique=True),
        sa.Column("reason", sa.String(200)),
        sa.Column("added_by", sa.String(64), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("do_not_call")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("consent_phone_calls")
    with op.batch_alter_table("interactions") as batch:
        batch.drop_column("direction")
