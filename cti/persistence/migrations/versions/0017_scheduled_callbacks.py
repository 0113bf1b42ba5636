"""Scheduled callbacks: due at their time, previewed to an agent, dialed and retried until done.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scheduled_callbacks",
        sa.Column("callback_id", sa.String(32), primary_key=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("agent_id", sa.String(64)),
        sa.Column("agent_first", sa.Boolean(), nullable=False),
        sa.Column("phone_index", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.JSON(), nullable=False),
        sa.Column("call_id", sa.String(64)),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_scheduled_callbacks_customer_id", "scheduled_callbacks", ["customer_id"])
    op.create_index("ix_scheduled_callbacks_agent_id", "scheduled_callbacks", ["agent_id"])
    op.create_index("ix_scheduled_callbacks_status_due_at", "scheduled_callbacks", ["status", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_scheduled_callbacks_status_due_at", "scheduled_callbacks")
    op.drop_index("ix_scheduled_callbacks_agent_id", "scheduled_callbacks")
    op.drop_index("ix_scheduled_callbacks_customer_id", "scheduled_callbacks")
    op.drop_table("scheduled_callbacks")
